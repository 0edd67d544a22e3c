//! End to end on this repository's application: `cargo xtask ci --runner local` lints, tests
//! and builds every target, and the linux-x64 binary runs and prints the package version.

mod common;

#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn ci_builds_a_binary_that_prints_the_package_version() {
    common::just_dir();
    let project = tempfile::tempdir().unwrap();
    common::copy_app(project.path());
    common::xtask(project.path())
        .args(["--runner", "local", "ci"])
        .assert()
        .success();

    let binary = project.path().join("dist/taskmd-linux-x64");
    let output = std::process::Command::new(&binary)
        .arg("--version")
        .output()
        .unwrap();
    let package: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join("package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        package["version"].as_str().unwrap()
    );
    for target in ["linux-arm64", "darwin-x64", "darwin-arm64"] {
        assert!(
            project
                .path()
                .join(format!("dist/taskmd-{target}"))
                .is_file(),
            "no binary for {target}"
        );
    }
    assert!(project.path().join("dist/taskmd-windows-x64.exe").is_file());
    assert!(
        project.path().join("reports/junit.xml").is_file(),
        "the test recipe wrote no junit report"
    );
}
