//! `cargo xtask security-scan`: runs the justfile's `security-scan` recipe with the `--fail-on`
//! level as its argument, and fails when the recipe does. The scanner itself is tested by
//! `just security-test` (security/test).

use std::{fs, path::Path};

use assert_cmd::Command;
use predicates::prelude::*;

/// A project whose `security-scan` recipe records the level it got and fails on `low`.
const JUSTFILE: &str = r#"
[metadata('outputs', 'reports/security')]
security-scan fail_on="high":
    mkdir -p reports/security
    printf '%s\n' {{ quote(fail_on) }} > reports/security/fail-on
    test {{ quote(fail_on) }} != low
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    fs::write(dir.path().join("justfile"), JUSTFILE).expect("write the justfile");
    dir
}

fn xtask(project: &Path) -> Command {
    let mut command = Command::cargo_bin("xtask").expect("the xtask binary");
    command
        .env_remove("RUST_LOG")
        .arg("--project")
        .arg(project)
        .arg("--runner")
        .arg("local");
    command
}

fn recorded_level(project: &Path) -> String {
    fs::read_to_string(project.join("reports/security/fail-on")).expect("the recipe ran")
}

#[test]
fn runs_the_recipe_with_high_by_default() {
    let project = project();
    xtask(project.path())
        .arg("security-scan")
        .assert()
        .success();
    assert_eq!(recorded_level(project.path()), "high\n");
}

#[test]
fn passes_fail_on_as_the_recipe_argument() {
    let project = project();
    xtask(project.path())
        .args(["security-scan", "--fail-on", "medium"])
        .assert()
        .success();
    assert_eq!(recorded_level(project.path()), "medium\n");
}

#[test]
fn fails_when_the_scan_fails() {
    let project = project();
    xtask(project.path())
        .args(["security-scan", "--fail-on", "low"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("security-scan low"));
    assert_eq!(recorded_level(project.path()), "low\n");
}

#[test]
fn rejects_an_unknown_level() {
    let project = project();
    xtask(project.path())
        .args(["security-scan", "--fail-on", "severe"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "[possible values: critical, high, medium, low, none]",
        ));
    assert!(!project.path().join("reports").exists());
}

#[test]
fn this_repository_plans_the_scan_after_installing_its_tools() {
    let root = xtask::project::workspace_root();
    let output = xtask(&root)
        .args(["plan", "--json", "security-scan", "medium"])
        .output()
        .expect("run the xtask");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("plan JSON");
    let steps = plan["steps"].as_array().expect("steps");
    let recipes: Vec<&str> = steps
        .iter()
        .map(|step| step["recipe"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(recipes, ["install", "security-tools", "security-scan"]);
    let scan = &steps[2];
    assert_eq!(scan["arguments"], serde_json::json!(["medium"]));
    assert_eq!(
        scan["metadata"]["outputs"],
        serde_json::json!([
            "reports/security/security.sarif",
            "reports/security/summary.md",
            "reports/security/summary.json",
            "reports/security/sbom.cdx.json"
        ])
    );
    // The scanners come from three registries and the scan reads the git history: the
    // security recipes run on the host only.
    for step in &steps[1..] {
        assert_eq!(
            step["metadata"]["host_only"],
            serde_json::json!(true),
            "{step}"
        );
    }
}
