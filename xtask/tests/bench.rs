//! `cargo xtask bench`: the fast measure end to end (numbers are not asserted: a bench is not
//! a timed test), the report written between its markers, bad input refused before anything
//! is measured, the generated justfiles, and just behind a version manager's shim.

mod common;

use predicates::prelude::*;
use xtask::{
    bench::{
        generate::{self, Pins},
        report::{BEGIN, END},
    },
    just::Just,
    justfile::Justfile,
    plan::{Invocation, Plan},
};

fn fails_with(assert: assert_cmd::assert::Assert, message: &str) {
    assert
        .failure()
        .stderr(predicate::str::contains(message))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn the_plan_measure_runs_and_fills_the_document_between_its_markers() {
    let dir = tempfile::tempdir().unwrap();
    let document = dir.path().join("performance.md");
    std::fs::write(
        &document,
        format!("# Performance\n\nHand-written prose.\n\n{BEGIN}\nold numbers\n{END}\n\n## Why\n\nMore prose.\n"),
    )
    .unwrap();
    let output = common::xtask(&common::workspace_root())
        .args(["bench", "--runs", "1", "--only", "plan", "--write"])
        .arg(&document)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("### The table of issue 11"), "{stdout}");
    assert!(
        stdout.contains("| plan + Dagger translation of a generated 500-recipe justfile"),
        "{stdout}"
    );
    // Every size was planned, and the in-process part was timed apart from `just --dump`.
    for size in ["| 100 |", "| 250 |", "| 500 |", "| 1000 |", "| 2000 |"] {
        assert!(stdout.contains(size), "{size} missing:\n{stdout}");
    }
    assert!(stdout.contains("growth exponent"), "{stdout}");
    assert!(
        !stdout.contains("### test"),
        "only `plan` was asked for:\n{stdout}"
    );

    let written = std::fs::read_to_string(&document).unwrap();
    assert!(
        written.starts_with("# Performance\n\nHand-written prose.\n\n"),
        "{written}"
    );
    assert!(
        written.ends_with(&format!("{END}\n\n## Why\n\nMore prose.\n")),
        "{written}"
    );
    assert!(!written.contains("old numbers"), "{written}");
    assert!(
        written.contains(stdout.trim_end()),
        "the document holds what was printed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        ["performance.md"],
        "no temporary file is left behind"
    );
}

#[test]
fn bad_input_is_one_clear_error_before_anything_is_measured() {
    let root = common::workspace_root();
    fails_with(
        common::xtask(&root).args(["bench", "--runs", "0"]).assert(),
        "invalid value '0' for '--runs <N>'",
    );
    fails_with(
        common::xtask(&root)
            .args(["bench", "--only", "everything"])
            .assert(),
        "invalid value 'everything' for '--only <MEASURE>'",
    );
    fails_with(
        common::xtask(&root)
            .args(["bench", "--max-load", "0", "--only", "plan"])
            .assert(),
        "`--max-load` takes a positive load average",
    );
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    fails_with(
        common::xtask(&root)
            .args(["bench", "--write"])
            .arg(dir.path().join("missing").join("performance.md"))
            .assert(),
        "directory `",
    );
    // Refused up front: the whole bench (minutes) did not run first.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let unmarked = dir.path().join("notes.md");
    std::fs::write(&unmarked, "# Notes\n").unwrap();
    fails_with(
        common::xtask(&root)
            .args(["bench", "--only", "plan", "--write"])
            .arg(&unmarked)
            .assert(),
        "has no bench markers",
    );
    assert_eq!(std::fs::read_to_string(&unmarked).unwrap(), "# Notes\n");
    fails_with(
        common::xtask(&root)
            .args(["bench", "--only", "plan", "--runner", "dagger"])
            .assert(),
        "`bench` measures the local path",
    );
}

#[test]
fn a_generated_500_recipe_justfile_is_one_just_accepts_and_plans_whole() {
    let just = Just::at(&common::just_program()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("justfile");
    let pins = Pins {
        just: just.version.clone(),
        bun: "1.4.5".to_owned(),
        image: "docker.io/library/node:22.23.2-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46".to_owned(),
        python_image: "docker.io/library/python:3.12.14-slim-trixie@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea".to_owned(),
    };
    std::fs::write(&path, generate::justfile(500, &pins)).unwrap();
    let justfile = Justfile::load(&just, &path).unwrap();
    assert_eq!(justfile.recipes.len(), 501);
    let plan = Plan::new(&justfile, &[Invocation::new("all", &[])]).unwrap();
    assert_eq!(plan.steps.len(), 501);
    let last = plan
        .steps
        .iter()
        .find(|step| step.invocation.recipe == "r0499")
        .unwrap();
    // r0499 waits for r0166, r0249 and r0498 (in that order, as just would run them).
    assert_eq!(last.dependencies.len(), 3, "{last:?}");
    // And the generated recipes really run.
    let output = std::process::Command::new(&just.program)
        .arg("--justfile")
        .arg(&path)
        .arg("r0010")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/r0010")).unwrap(),
        "r0010 fast\n"
    );
}

/// A shim on `PATH` in front of the real just, counting its starts; with `old`, it fails
/// the way a just without `just_version()` would.
#[cfg(unix)]
fn shim(dir: &std::path::Path, old: bool) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;

    let real = std::fs::canonicalize(common::just_program()).unwrap();
    let counter = dir.join("starts");
    let shim = dir.join("just");
    let refuse = if old {
        "case \"$2\" in *justfile) grep -q just_version \"$2\" && { echo 'error: unknown function `just_version`' >&2; exit 1; } ;; esac\n"
    } else {
        ""
    };
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\necho started >> '{}'\n{refuse}exec '{}' \"$@\"\n",
            counter.display(),
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    counter
}

#[cfg(unix)]
#[test]
fn just_behind_a_version_manager_shim_is_started_directly() {
    for (old, starts) in [(false, 1), (true, 2)] {
        let shims = tempfile::tempdir().unwrap();
        let counter = shim(shims.path(), old);
        let project = common::project("just_version := \"1.59.0\"\n\nhello:\n    echo hello\n");
        let mut path = vec![shims.path().to_owned()];
        path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap()));
        let output = common::xtask(project.path())
            .env("PATH", std::env::join_paths(path).unwrap())
            .args(["--runner", "local", "run", "hello"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("hello"), "{stderr}");
        // The version, the dump and the step went to the binary, not through the shim again;
        // a just without `just_version()` is asked twice, then `--version` goes to the binary.
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            starts,
            "old just: {old}"
        );
    }
}
