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

/// A directory holding only the pinned `just` (a link to the real binary, not a shim), so
/// tests can put just, and nothing else, on `PATH`. `cargo xtask setup` installs it first.
pub fn just_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["setup", "--project"])
            .arg(workspace_root())
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run `xtask setup`");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "`xtask setup` failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // `just 1.59.0 (/path/to/just)`; that may be a shim (pyenv), so ask just where it is.
        let line = stdout
            .lines()
            .find(|line| line.starts_with("just "))
            .expect("setup names just");
        let program = line.rsplit_once(" (").unwrap().1.trim_end_matches(')');
        let probe = tempfile::tempdir().unwrap();
        std::fs::write(
            probe.path().join("justfile"),
            "executable := just_executable()\n",
        )
        .unwrap();
        let evaluated = std::process::Command::new(program)
            .arg("--justfile")
            .arg(probe.path().join("justfile"))
            .args(["--evaluate", "executable"])
            .output()
            .expect("run just");
        let real = PathBuf::from(String::from_utf8(evaluated.stdout).unwrap());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("just-only-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join(if cfg!(windows) { "just.exe" } else { "just" });
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link).unwrap();
        #[cfg(not(unix))]
        std::fs::copy(&real, &link).unwrap();
        dir
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
    command.env_remove("RUST_BACKTRACE");
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

/// Copies the application half of this repository (sources, lockfile, justfile) into `to`.
pub fn copy_app(to: &Path) {
    let root = workspace_root();
    for entry in [
        "justfile",
        "package.json",
        "bun.lock",
        "bunfig.toml",
        "tsconfig.json",
        "eslint.config.js",
        "src",
        "test",
    ] {
        copy_tree(&root.join(entry), &to.join(entry));
    }
    // Reuse the repository's pinned tools instead of installing them again.
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join(".tools"), to.join(".tools")).unwrap();
}

pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// The lines of this repository's justfile that pin what the Dagger path needs (tool versions
/// and images), for temporary projects that plan or run on it.
pub fn dagger_pins() -> String {
    let justfile = std::fs::read_to_string(workspace_root().join("justfile")).unwrap();
    let names = [
        "just_version",
        "bun_version",
        "dagger_image",
        "dagger_python_image",
    ];
    let mut pins = String::new();
    for line in justfile.lines() {
        let pinned = line
            .split_once(" :=")
            .is_some_and(|(name, _)| names.contains(&name));
        if pinned {
            pins.push_str(line);
            pins.push('\n');
        }
    }
    pins
}
