//! The local runner end to end: the real binary over temporary projects with echo recipes.

mod common;

use std::{
    fs,
    time::{Duration, Instant},
};

use predicates::prelude::*;

/// `cargo xtask --runner local run <recipe>` on a temporary project.
fn run(project: &tempfile::TempDir, recipe: &str, flags: &[&str]) -> assert_cmd::assert::Assert {
    common::xtask(project.path())
        .args(["--runner", "local"])
        .args(flags)
        .args(["run", recipe])
        .timeout(Duration::from_secs(60))
        .assert()
}

#[test]
fn runs_dependencies_first_in_just_order() {
    let project = common::project(
        "all: first second\nfirst: base\n    echo first >> log\nsecond: base\n    echo second >> log\nbase:\n    echo base >> log\n",
    );
    run(&project, "all", &["--jobs", "4"]).success();
    assert_eq!(
        fs::read_to_string(project.path().join("log")).unwrap(),
        "base\nfirst\nsecond\n"
    );
}

#[test]
fn passes_arguments_and_streams_output_with_a_step_label() {
    let project = common::project("greet who=\"world\" *rest:\n    echo hello {{who}} {{rest}}\n");
    common::xtask(project.path())
        .args(["--runner", "local", "run", "greet", "you", "a b", "c"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "greet you \"a b\" c │ hello you a b c",
        ));
}

#[test]
fn independent_steps_run_at_the_same_time() {
    // Each recipe waits until the other has started: only a parallel run can finish.
    let wait_for = |me: &str, other: &str| {
        format!(
            "{me}:\n    touch {me}.started\n    for i in $(seq 100); do test -e {other}.started && exit 0; sleep 0.1; done; exit 9\n"
        )
    };
    let project = common::project(&format!(
        "[parallel]\nboth: left right\n{}{}",
        wait_for("left", "right"),
        wait_for("right", "left")
    ));
    run(&project, "both", &["--jobs", "2"]).success();
}

#[test]
fn jobs_bounds_parallelism() {
    // `mkdir` fails when the other recipe holds the lock: with one job they never overlap.
    let project = common::project(
        "[parallel]\nboth: left right\nleft:\n    mkdir running.lock && sleep 0.3 && rmdir running.lock\nright:\n    mkdir running.lock && sleep 0.3 && rmdir running.lock\n",
    );
    run(&project, "both", &["--jobs", "1"]).success();
}

#[test]
fn a_failure_stops_running_siblings_and_reports_the_recipe() {
    let project = common::project(
        "[parallel]\nboth: slow bad\nslow:\n    sleep 30\nbad:\n    sleep 0.5\n    echo broken >&2\n    exit 3\n",
    );
    let started = Instant::now();
    run(&project, "both", &["--jobs", "2"])
        .code(1)
        .stderr(predicate::str::contains(
            "error: recipe `bad` failed with exit code 3",
        ))
        .stderr(predicate::str::contains("broken"))
        .stderr(predicate::str::contains("cancelled slow"))
        .stderr(predicate::str::contains("skipped   both"));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the slow sibling was not stopped: {:?}",
        started.elapsed()
    );
}

#[test]
fn keep_going_runs_what_does_not_depend_on_the_failure() {
    let project = common::project(
        "[parallel]\nall: good after\nafter: bad\n    echo after\ngood:\n    sleep 0.5\n    touch good.done\nbad:\n    exit 4\n",
    );
    run(&project, "all", &["--keep-going", "--jobs", "2"])
        .code(1)
        .stderr(predicate::str::contains(
            "recipe `bad` failed with exit code 4",
        ))
        .stderr(predicate::str::contains("skipped   after"));
    assert!(
        project.path().join("good.done").exists(),
        "--keep-going did not finish the independent recipe"
    );
}

#[test]
fn without_keep_going_nothing_new_starts_after_a_failure() {
    let project =
        common::project("all: bad later\nlater:\n    touch later.done\nbad:\n    exit 5\n");
    run(&project, "all", &[])
        .code(1)
        .stderr(predicate::str::contains(
            "recipe `bad` failed with exit code 5",
        ));
    assert!(!project.path().join("later.done").exists());
}

#[test]
#[cfg(unix)] // signals; Ctrl-C on Windows is a console event, not tested here
fn ctrl_c_ends_every_recipe_and_exits_130() {
    let project = common::project("nap:\n    echo $$ > pid\n    sleep 30\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["--runner", "local", "--project"])
        .arg(project.path())
        .args(["run", "nap"])
        .env("PATH", common::path_with_just())
        .env_remove("CI")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = project.path().join("pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::read_to_string(&pid_file).map_or(true, |text| !text.ends_with('\n'))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let recipe_shell: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    signal(i32::try_from(child.id()).unwrap(), libc::SIGINT);
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!alive(recipe_shell), "the recipe's shell survived Ctrl-C");
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a pid and a signal number; no memory is touched.
    unsafe {
        libc::kill(pid, signal);
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// A recipe with `[metadata('runner', 'local')]` never goes to a container: `auto` runs it on
/// this machine even with CI=true and no engine, and `--runner dagger` refuses it up front.
#[test]
fn a_host_only_recipe_runs_locally_and_refuses_dagger() {
    let project = common::project(
        "all: scan\n[metadata('runner', 'local')]\nscan:\n    echo scanned >> log\n",
    );
    common::xtask(project.path())
        .env("CI", "true")
        .env_remove("DAGGER_SESSION_PORT")
        .env_remove("DAGGER_SESSION_TOKEN")
        .env("_EXPERIMENTAL_DAGGER_CLI_BIN", "/nonexistent/dagger")
        .args(["--runner", "auto", "run", "all"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(project.path().join("log")).unwrap(),
        "scanned\n"
    );

    common::xtask(project.path())
        .args(["--runner", "dagger", "run", "all"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: recipe `scan` runs on the host only (`[metadata(\"runner\", \"local\")]`), never in a container; run it with `--runner local`\nhelp: see docs/troubleshooting.md#host-only-recipe\n",
        ));
    assert_eq!(
        fs::read_to_string(project.path().join("log")).unwrap(),
        "scanned\n",
        "nothing ran the second time"
    );
}
