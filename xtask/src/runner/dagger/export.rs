//! Exports land atomically: the engine writes each step's outputs into a staging directory
//! inside the project (the same file system), and only after the run are the files renamed
//! into place, one by one. A file in `dist/` is therefore always whole: the old one or the new
//! one, never half-written; and a failed or interrupted run leaves no staging behind.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};

use super::pipeline::EXPORT_DIR_PREFIX;
use crate::plan::StepId;

/// `<project>/.xtask-export-XXXXXX/`, removed when dropped.
#[derive(Debug)]
pub struct Staging {
    dir: tempfile::TempDir,
}

impl Staging {
    pub fn new(project_root: &Path) -> Result<Staging> {
        let dir = tempfile::Builder::new()
            .prefix(EXPORT_DIR_PREFIX)
            .tempdir_in(project_root)
            .wrap_err_with(|| {
                format!(
                    "cannot create a staging directory for exports in `{}`",
                    project_root.display()
                )
            })?;
        Ok(Staging { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where the engine exports the outputs of step `id`.
    pub fn step_dir(&self, id: StepId) -> PathBuf {
        self.dir.path().join(format!("step-{id}"))
    }

    /// Moves the exported files of `steps` into `project_root`, merging with what is there.
    /// Every destination is checked before the first file moves, so a conflict changes
    /// nothing. The staging directory goes when the last owner drops it.
    pub fn promote(&self, steps: &[StepId], project_root: &Path) -> Result<Vec<PathBuf>> {
        let mut moves: Vec<(PathBuf, PathBuf)> = Vec::new();
        for &id in steps {
            let dir = self.step_dir(id);
            if !dir.exists() {
                continue;
            }
            for relative in files_under(&dir)? {
                moves.push((dir.join(&relative), project_root.join(&relative)));
            }
        }
        for (_, destination) in &moves {
            check_destination(project_root, destination)?;
        }
        let mut promoted = Vec::with_capacity(moves.len());
        for (source, destination) in moves {
            if let Some(parent) = destination.parent() {
                fs::create_dir_all(parent)
                    .wrap_err_with(|| format!("cannot create `{}`", parent.display()))?;
            }
            fs::rename(&source, &destination).wrap_err_with(|| {
                format!(
                    "cannot move the exported `{}` into place at `{}`",
                    source.display(),
                    destination.display()
                )
            })?;
            promoted.push(destination);
        }
        Ok(promoted)
    }
}

/// Nothing on the way to `destination` may be a file, and `destination` may not be a
/// directory: a rename cannot replace those.
fn check_destination(project_root: &Path, destination: &Path) -> Result<()> {
    let mut ancestor = destination.parent();
    while let Some(dir) = ancestor {
        if dir == project_root {
            break;
        }
        if fs::symlink_metadata(dir).is_ok_and(|meta| !meta.is_dir()) {
            bail!(
                "cannot put an exported file at `{}`: `{}` is a file, not a directory; remove it and run again",
                destination.display(),
                dir.display()
            );
        }
        ancestor = dir.parent();
    }
    if fs::symlink_metadata(destination).is_ok_and(|meta| meta.is_dir()) {
        bail!(
            "cannot put an exported file at `{}`: a directory is there; remove it and run again",
            destination.display()
        );
    }
    Ok(())
}

/// Every file (and symbolic link) under `dir`, relative to it, sorted.
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, into: &mut Vec<PathBuf>) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, into)?;
            } else {
                into.push(path.strip_prefix(root).unwrap_or(&path).to_owned());
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files).wrap_err_with(|| format!("cannot list `{}`", dir.display()))?;
    files.sort();
    Ok(files)
}

/// The declared outputs no exported file matches. An output names a file or a directory, and
/// may end in a `*` wildcard in its last component (`dist/app-linux-x64*`).
pub fn unmatched_outputs(files: &[PathBuf], outputs: &[String]) -> Vec<String> {
    outputs
        .iter()
        .filter(|output| !files.iter().any(|file| matches_output(file, output)))
        .cloned()
        .collect()
}

fn matches_output(file: &Path, output: &str) -> bool {
    let output: Vec<&str> = output
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    let file: Vec<String> = file
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    // A file matches an output that names it or one of the directories above it.
    file.len() >= output.len()
        && output
            .iter()
            .zip(&file)
            .all(|(pattern, name)| wildcard_match(pattern, name))
}

/// `*` matches any run of characters; nothing else is special.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, contents: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    #[test]
    fn promotes_file_by_file_and_leaves_no_staging() {
        let project = tempfile::tempdir().unwrap();
        let root = project.path();
        write(&root.join("dist/taskmd-linux-x64"), "old");
        write(&root.join("dist/keep"), "untouched");
        let staging = Staging::new(root).unwrap();
        let staging_path = staging.path().to_owned();
        assert!(
            staging_path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".xtask-export-")
        );
        write(&staging.step_dir(3).join("dist/taskmd-linux-x64"), "new");
        write(
            &staging.step_dir(4).join("reports/coverage/lcov.info"),
            "lcov",
        );
        write(
            &staging.step_dir(5).join("dist/not-promoted"),
            "failed step",
        );

        let promoted = staging.promote(&[3, 4], root).unwrap();
        drop(staging);
        assert_eq!(
            promoted,
            [
                root.join("dist/taskmd-linux-x64"),
                root.join("reports/coverage/lcov.info")
            ]
        );
        assert_eq!(
            fs::read_to_string(root.join("dist/taskmd-linux-x64")).unwrap(),
            "new"
        );
        assert_eq!(
            fs::read_to_string(root.join("dist/keep")).unwrap(),
            "untouched"
        );
        assert!(!root.join("dist/not-promoted").exists());
        assert!(!staging_path.exists());
    }

    #[test]
    fn a_conflict_moves_nothing() {
        let project = tempfile::tempdir().unwrap();
        let root = project.path();
        write(&root.join("dist"), "a file where a directory must be");
        let staging = Staging::new(root).unwrap();
        write(&staging.step_dir(0).join("a.txt"), "a");
        write(&staging.step_dir(1).join("dist/app"), "app");
        let staging_path = staging.path().to_owned();
        let error = staging.promote(&[0, 1], root).unwrap_err().to_string();
        assert!(error.contains("is a file, not a directory"), "{error}");
        assert!(
            !root.join("a.txt").exists(),
            "nothing moves before every destination is checked"
        );
        drop(staging);
        assert!(
            !staging_path.exists(),
            "the staging directory goes on error too"
        );
    }

    #[test]
    fn outputs_match_files_directories_and_wildcards() {
        let files: Vec<PathBuf> = [
            "dist/taskmd-linux-x64",
            "reports/coverage/lcov.info",
            "reports/junit.xml",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert!(unmatched_outputs(&files, &["dist/taskmd-linux-x64*".into()]).is_empty());
        assert!(
            unmatched_outputs(
                &files,
                &["reports/coverage".into(), "reports/junit.xml".into()]
            )
            .is_empty()
        );
        assert_eq!(
            unmatched_outputs(
                &files,
                &["dist/taskmd-windows-x64*".into(), "dist/*.zip".into()]
            ),
            ["dist/taskmd-windows-x64*", "dist/*.zip"]
        );
        assert!(wildcard_match("taskmd-*-x64*", "taskmd-linux-x64.exe"));
        assert!(!wildcard_match("taskmd-*-x64", "taskmd-linux-x64.exe"));
        assert!(wildcard_match("*", "anything"));
    }
}
