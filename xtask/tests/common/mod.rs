//! Shared by the integration tests: the real `xtask` binary, the pinned `just`, and
//! temporary projects.

#![allow(dead_code, unreachable_pub)]

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    sync::OnceLock,
};

/// The workspace this xtask belongs to.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The directory holding the pinned `just`: `cargo xtask setup` installs it on first use.
pub fn just_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["setup", "--project"])
            .arg(workspace_root())
            .output()
            .expect("run `xtask setup`");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "`xtask setup` failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // `just 1.59.0 (/path/to/just)`
        let line = stdout
            .lines()
            .find(|line| line.starts_with("just "))
            .expect("setup names just");
        let program = line.rsplit_once(" (").unwrap().1.trim_end_matches(')');
        Path::new(program).parent().unwrap().to_owned()
    })
}

pub fn just_program() -> PathBuf {
    just_dir().join(if cfg!(windows) { "just.exe" } else { "just" })
}

/// `PATH` with the pinned just first.
pub fn path_with_just() -> OsString {
    let mut paths = vec![just_dir().to_owned()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// The xtask binary, run on `project`, with the pinned just on `PATH` and no CI-only behaviour.
pub fn xtask(project: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("xtask").unwrap();
    command.arg("--project").arg(project);
    command.env("PATH", path_with_just());
    command.env("NO_COLOR", "1");
    command.env_remove("GITHUB_ACTIONS");
    command.env_remove("CI");
    command.env_remove("RUST_LOG");
    command
}

/// A temporary project with the given justfile.
pub fn project(justfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("justfile"), justfile).unwrap();
    dir
}

/// Compares `actual` with the file at `path`; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        expected == actual,
        "`{}` differs from what the code produces; if the change is intended, run `UPDATE_GOLDEN=1 cargo test` and review the diff\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}
