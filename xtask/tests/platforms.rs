//! Release binaries for every platform: the target list, validation of each binary, and
//! the records a build leaves in `dist/` (`SHA256SUMS`, `build-manifest.json`).

mod common;

use std::{fs, path::Path, process::Command as StdCommand};

use assert_cmd::Command;
use xtask::{
    artifacts::{CHECKSUMS, MANIFEST},
    flags::{self, Targets},
    header::fixtures,
    just::Just,
    justfile::Justfile,
    plan::{Invocation, Plan},
    project::workspace_root,
    target::Target,
    tools::which,
};

fn xtask() -> Command {
    let mut command = Command::cargo_bin("xtask").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env("RUST_LOG", "warn")
        .env_remove("SOURCE_DATE_EPOCH");
    command
}

fn repository_justfile() -> Justfile {
    let just = Just::at(&which("just").expect("just on PATH")).unwrap();
    Justfile::load(&just, &workspace_root().join("justfile")).unwrap()
}

/// The targets of the `build` steps of a plan, in plan order.
fn built_targets(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|step| step.invocation.recipe == "build")
        .map(|step| step.invocation.arguments[0].clone())
        .collect()
}

#[test]
fn the_target_list_is_the_same_everywhere_in_the_justfile() {
    let justfile = repository_justfile();
    let targets = flags::build_targets(&justfile).unwrap();
    assert_eq!(
        targets,
        [
            "linux-x64",
            "linux-arm64",
            "darwin-x64",
            "darwin-arm64",
            "windows-x64"
        ]
    );
    for target in &targets {
        Target::parse(target).unwrap_or_else(|error| panic!("{error}"));
    }
    let build_all = Plan::new(&justfile, &[Invocation::new("build-all", &[])]).unwrap();
    assert_eq!(
        built_targets(&build_all),
        targets,
        "`build-all` must depend on `build` once per entry of `targets`, in the same order"
    );
    let all_targets = Targets {
        targets: Vec::new(),
        all_targets: true,
    }
    .invocations(&justfile)
    .unwrap();
    assert_eq!(
        built_targets(&Plan::new(&justfile, &all_targets).unwrap()),
        targets,
        "`--all-targets` must build what `targets` lists"
    );
}

#[test]
fn an_unknown_target_is_refused_with_the_valid_ones() {
    xtask()
        .args(["build", "--runner", "local", "--target", "linux-x86", "--project"])
        .arg(workspace_root())
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains(
            "error: unknown target `linux-x86`; valid targets: linux-x64, linux-arm64, darwin-x64, darwin-arm64, windows-x64\n",
        ));
}

/// A project whose `build` recipe copies a prepared file per target into `dist/`, so the
/// validation can be tested on headers of any kind without compiling anything.
fn fixture_project(binaries: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let targets: Vec<&str> = binaries.iter().map(|(target, _)| *target).collect();
    let dependencies: Vec<String> = targets
        .iter()
        .map(|target| format!("(build \"{target}\")"))
        .collect();
    fs::write(
        dir.path().join("justfile"),
        format!(
            "just_version := \"1.59.0\"\n\
             targets := \"{}\"\n\
             set shell := [\"bash\", \"-euo\", \"pipefail\", \"-c\"]\n\
             set windows-shell := [\"bash\", \"-euo\", \"pipefail\", \"-c\"]\n\n\
             [metadata('outputs', 'dist/app-{{target}}*')]\n\
             build target:\n    mkdir -p dist && cp prepared/{{{{ target }}}} dist/app-{{{{ target }}}}\n\n\
             [parallel]\n\
             build-all: {}\n",
            targets.join(" "),
            dependencies.join(" ")
        ),
    )
    .unwrap();
    fs::create_dir(dir.path().join("prepared")).unwrap();
    for (target, bytes) in binaries {
        fs::write(dir.path().join("prepared").join(target), bytes).unwrap();
    }
    dir
}

#[test]
fn a_binary_for_the_wrong_platform_fails_the_build_and_leaves_no_records() {
    let project = fixture_project(&[
        // An AArch64 program where an x86-64 one belongs.
        (
            "linux-x64",
            fixtures::elf(fixtures::ELF_AARCH64, Some("/lib/ld-linux-aarch64.so.1")),
        ),
        (
            "darwin-arm64",
            fixtures::mach_o(fixtures::MACHO_ARM64, true),
        ),
    ]);
    let dist = project.path().join("dist");
    fs::create_dir(&dist).unwrap();
    fs::write(dist.join(CHECKSUMS), "stale\n").unwrap();
    fs::write(dist.join(MANIFEST), "{}\n").unwrap();
    let assert = xtask()
        .args(["build", "--all-targets", "--runner", "local", "--project"])
        .arg(project.path())
        .assert()
        .code(1);
    let output = assert.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains(
            "linux-x64     dist/app-linux-x64     147 B  ELF AArch64 (expected ELF x86-64)  not run (the header check failed)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("darwin-arm64  dist/app-darwin-arm64   60 B  Mach-O arm64"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "error: validation failed; fix the build of each binary below, then rebuild it:\n  \
             `dist/app-linux-x64` is ELF AArch64, but target `linux-x64` needs ELF x86-64; the build produced a binary for another platform\n"
        ),
        "{stderr}"
    );
    assert!(
        !dist.join(CHECKSUMS).exists(),
        "stale SHA256SUMS left behind"
    );
    assert!(!dist.join(MANIFEST).exists(), "stale manifest left behind");
}

#[test]
fn a_target_whose_build_leaves_nothing_is_an_error() {
    let project = fixture_project(&[("linux-x64", fixtures::elf(fixtures::ELF_X86_64, None))]);
    fs::write(
        project.path().join("justfile"),
        "just_version := \"1.59.0\"\ntargets := \"linux-x64\"\n\n\
         [metadata('outputs', 'dist/app-{target}*')]\nbuild target:\n    mkdir -p dist\n",
    )
    .unwrap();
    xtask()
        .args(["build", "--target", "linux-x64", "--runner", "local", "--project"])
        .arg(project.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "error: the build of `linux-x64` passed but left no `dist/app-linux-x64*`; check the `build` recipe's output path",
        ));
}

#[test]
fn doctor_names_the_shell_that_runs_recipes() {
    let project = fixture_project(&[("linux-x64", fixtures::elf(fixtures::ELF_X86_64, None))]);
    let assert = xtask()
        .args(["doctor", "--project"])
        .arg(project.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let line = stdout
        .lines()
        .find(|line| line.starts_with("ok    shell     "))
        .unwrap_or_else(|| panic!("no shell line:\n{stdout}"));
    assert!(line.contains("bash -euo pipefail -c ("), "{line}");
    if cfg!(windows) {
        assert!(!line.to_ascii_lowercase().contains("system32"), "{line}");
    }
}

/// Runs `sha256sum -c` (or macOS's `shasum -a 256 -c`) on `SHA256SUMS` in `dist`; `false`
/// when neither tool exists.
fn verify_checksums(dist: &Path) -> bool {
    let command = if which("sha256sum").is_some() {
        vec!["sha256sum", "-c", CHECKSUMS]
    } else if which("shasum").is_some() {
        vec!["shasum", "-a", "256", "-c", CHECKSUMS]
    } else {
        eprintln!("neither sha256sum nor shasum is on PATH: SHA256SUMS not checked with them");
        return false;
    };
    let output = StdCommand::new(command[0])
        .args(&command[1..])
        .current_dir(dist)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`{}` failed:\n{}{}",
        command.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    true
}

#[test]
fn valid_binaries_are_recorded_in_sha256sums_and_the_manifest() {
    let project = fixture_project(&[
        ("linux-x64", fixtures::elf(fixtures::ELF_X86_64, None)),
        ("linux-arm64", fixtures::elf(fixtures::ELF_AARCH64, None)),
        ("darwin-x64", fixtures::mach_o(fixtures::MACHO_X86_64, true)),
        (
            "darwin-arm64",
            fixtures::mach_o(fixtures::MACHO_ARM64, true),
        ),
        ("windows-x64", fixtures::pe(fixtures::PE_AMD64, true, false)),
    ]);
    let assert = xtask()
        .args(["build", "--all-targets", "--runner", "local", "--project"])
        .arg(project.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    // No package.json: nothing to check a smoke run against, so none ran and none passed.
    for (target, header) in [
        ("linux-x64", "ELF x86-64"),
        ("linux-arm64", "ELF AArch64"),
        ("darwin-x64", "Mach-O x86_64"),
        ("darwin-arm64", "Mach-O arm64"),
        ("windows-x64", "PE32+ x86-64"),
    ] {
        let row = stdout
            .lines()
            .find(|line| line.starts_with(&format!("{target} ")))
            .unwrap_or_else(|| panic!("no row for {target}:\n{stdout}"));
        assert!(row.contains(header), "{row}");
        assert!(
            row.ends_with("not run (the project has no `package.json`)"),
            "{row}"
        );
    }
    assert!(
        stdout.ends_with("dist/SHA256SUMS and dist/build-manifest.json cover 5 binaries\n"),
        "{stdout}"
    );

    let dist = project.path().join("dist");
    let sums = fs::read_to_string(dist.join(CHECKSUMS)).unwrap();
    let names: Vec<&str> = sums
        .lines()
        .map(|line| line.split_once("  ").unwrap().1)
        .collect();
    assert_eq!(
        names,
        [
            "app-darwin-arm64",
            "app-darwin-x64",
            "app-linux-arm64",
            "app-linux-x64",
            "app-windows-x64"
        ]
    );
    verify_checksums(&dist);

    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dist.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest["manifest_version"], 1);
    assert_eq!(manifest["tools"]["just"], "1.59.0");
    assert_eq!(manifest["tools"]["bun"], serde_json::Value::Null);
    assert_eq!(manifest["git"]["commit"], serde_json::Value::Null);
    assert_eq!(manifest["source_date_epoch"], "0");
    let windows = &manifest["binaries"][4];
    assert_eq!(windows["target"], "windows-x64");
    assert_eq!(windows["file"], "app-windows-x64");
    assert_eq!(windows["format"], "PE32+");
    assert_eq!(windows["architecture"], "x86-64");
    assert_eq!(windows["size"], 328);
    let line_of_windows = sums.lines().last().unwrap();
    assert_eq!(
        line_of_windows,
        format!("{}  app-windows-x64", windows["sha256"].as_str().unwrap())
    );
}

/// A copy of this repository's application, with the smoke-run fixtures.
fn copy_of_this_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_app(dir.path());
    dir
}

/// The real thing: bun compiles all five binaries, each is validated and recorded.
#[test]
fn all_five_real_binaries_build_validate_and_verify() {
    let project = copy_of_this_project();
    let assert = xtask()
        .args(["build", "--all-targets", "--runner", "local", "--project"])
        .arg(project.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let host = flags::host_target();
    for (target, file, header) in [
        ("linux-x64", "dist/taskmd-linux-x64", "ELF x86-64"),
        ("linux-arm64", "dist/taskmd-linux-arm64", "ELF AArch64"),
        ("darwin-x64", "dist/taskmd-darwin-x64", "Mach-O x86_64"),
        ("darwin-arm64", "dist/taskmd-darwin-arm64", "Mach-O arm64"),
        ("windows-x64", "dist/taskmd-windows-x64.exe", "PE32+ x86-64"),
    ] {
        let row = stdout
            .lines()
            .find(|line| line.starts_with(&format!("{target} ")))
            .unwrap_or_else(|| panic!("no row for {target}:\n{stdout}"));
        let cells: Vec<&str> = row
            .split("  ")
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .collect();
        assert_eq!(cells[1], file, "{row}");
        assert!(cells[2].ends_with(" MiB"), "{row}");
        assert_eq!(cells[3], header, "{row}");
        let smoke = cells[4..].join("  ");
        if target == host {
            assert_eq!(smoke, "passed (native)", "{row}");
        } else {
            assert!(
                smoke.starts_with("passed (") || smoke.starts_with("not run ("),
                "{row}"
            );
        }
    }
    let dist = project.path().join("dist");
    verify_checksums(&dist);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dist.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest["app"]["name"], "taskmd");
    assert_eq!(manifest["tools"]["bun"], "1.4.5");
    assert_eq!(manifest["binaries"].as_array().unwrap().len(), 5);
}
