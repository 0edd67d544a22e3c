//! A fresh copy of the project in another directory, for `--against local`.
//!
//! The copy holds exactly the files git would hand a new checkout of the working tree:
//! `git ls-files --cached --others --exclude-standard`, tracked and untracked-but-not-ignored,
//! with their uncommitted changes. A clone or `git archive` of `HEAD` would build other
//! sources than the working tree does whenever the tree has changes; this copy builds the
//! same sources, and still leaves out everything ignored (`node_modules/`, `dist/`, caches)
//! and lives at another absolute path. A build that differs between the two has read a
//! leftover of the working tree or embedded where it was built.

use std::path::{Path, PathBuf};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use tempfile::TempDir;
use tracing::{debug, info, info_span};
use walkdir::WalkDir;
use xshell::{Shell, cmd};

/// A copy of a project; removed when dropped.
#[derive(Debug)]
pub struct FreshCopy {
    dir: TempDir,
}

impl FreshCopy {
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// Copies the files of the project at `root` that git knows of (see the module docs) into a
/// new temporary directory, and links its `.tools/` there so the pinned tools are not
/// installed a second time.
pub fn copy_project(root: &Path) -> Result<FreshCopy> {
    let _span = info_span!("fresh_copy", project = %root.display()).entered();
    let files = listed_files(root)?;
    let dir = tempfile::Builder::new()
        .prefix("xtask-parity-")
        .tempdir()
        .wrap_err("cannot create a directory for the fresh copy")?;
    let mut n_copied = 0;
    for relative in &files {
        let from = root.join(relative);
        // Listed but deleted in the working tree: a fresh checkout of the tree lacks it too.
        let Ok(metadata) = std::fs::symlink_metadata(&from) else {
            debug!(path = %relative.display(), "listed but deleted; not copied");
            continue;
        };
        if metadata.is_dir() {
            // A submodule: its files as they are.
            for item in WalkDir::new(&from).follow_links(false) {
                let item = item.wrap_err_with(|| format!("cannot walk `{}`", from.display()))?;
                if !item.file_type().is_dir() {
                    let inside = item
                        .path()
                        .strip_prefix(root)
                        .wrap_err("outside the project")?;
                    copy_one(root, dir.path(), inside)?;
                    n_copied += 1;
                }
            }
        } else {
            copy_one(root, dir.path(), relative)?;
            n_copied += 1;
        }
    }
    link_tools(root, dir.path())?;
    info!(n_files = n_copied, copy = %dir.path().display(), "copied the project");
    Ok(FreshCopy { dir })
}

/// The paths git lists for the working tree at `root`, relative to it.
fn listed_files(root: &Path) -> Result<Vec<PathBuf>> {
    let sh = Shell::new()?;
    sh.change_dir(root);
    let output = cmd!(sh, "git ls-files -z --cached --others --exclude-standard")
        .quiet()
        .ignore_status()
        .output()
        .wrap_err("cannot run `git`; `--against local` needs git to know which files belong to the project")?;
    if !output.status.success() {
        bail!(
            "`git ls-files` failed in `{}`: {}; `--against local` copies the files git tracks, so the project must be a git checkout",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut files = Vec::new();
    for name in output.stdout.split(|&byte| byte == 0) {
        if name.is_empty() {
            continue;
        }
        files.push(path_from_bytes(name)?);
    }
    if files.is_empty() {
        bail!(
            "git lists no files in `{}`; add the project's files to git first",
            root.display()
        );
    }
    Ok(files)
}

#[cfg(unix)]
#[allow(clippy::unnecessary_wraps)]
fn path_from_bytes(bytes: &[u8]) -> Result<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Result<PathBuf> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(PathBuf::from(text)),
        Err(_) => bail!(
            "git lists a file name that is not UTF-8: {}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// Copies one file or link, with its permissions, creating its directories.
pub(super) fn copy_one(root: &Path, copy: &Path, relative: &Path) -> Result<()> {
    let from = root.join(relative);
    let to = copy.join(relative);
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create `{}`", dir.display()))?;
    }
    let metadata = std::fs::symlink_metadata(&from)
        .wrap_err_with(|| format!("cannot read `{}`", from.display()))?;
    if metadata.file_type().is_symlink() {
        let target = std::fs::read_link(&from)
            .wrap_err_with(|| format!("cannot read link `{}`", from.display()))?;
        symlink_file(&target, &to)
            .wrap_err_with(|| format!("cannot create link `{}`", to.display()))?;
    } else {
        std::fs::copy(&from, &to)
            .wrap_err_with(|| format!("cannot copy `{}` to `{}`", from.display(), to.display()))?;
    }
    Ok(())
}

/// Points the copy's `.tools/` at the project's, where the pinned tools are installed.
// Fallible on Unix only: on Windows a missing link right is no error.
#[cfg_attr(windows, allow(clippy::unnecessary_wraps))]
fn link_tools(root: &Path, copy: &Path) -> Result<()> {
    let tools = root.join(".tools");
    if !tools.is_dir() {
        return Ok(());
    }
    let link = copy.join(".tools");
    if std::fs::symlink_metadata(&link).is_ok() {
        // The project does not ignore `.tools/`, so git listed it and it was copied.
        return Ok(());
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(&tools, &link)
        .wrap_err_with(|| format!("cannot link `{}` to `{}`", link.display(), tools.display()))?;
    #[cfg(windows)]
    if let Err(error) = std::os::windows::fs::symlink_dir(&tools, &link) {
        // Without the right to make links the copy installs its own tools.
        debug!(%error, "cannot link .tools; the copy finds or installs its own");
    }
    Ok(())
}

#[cfg(unix)]
fn symlink_file(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink_file(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn copies_the_working_tree_without_ignored_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        std::fs::write(root.join(".gitignore"), "dist/\n").unwrap();
        std::fs::write(root.join("tracked"), "committed").unwrap();
        std::fs::write(root.join("deleted"), "gone soon").unwrap();
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "start"]);
        std::fs::write(root.join("tracked"), "changed, not committed").unwrap();
        std::fs::write(root.join("untracked"), "new").unwrap();
        std::fs::remove_file(root.join("deleted")).unwrap();
        std::fs::create_dir_all(root.join("dist")).unwrap();
        std::fs::write(root.join("dist/stale"), "left over").unwrap();
        std::fs::create_dir_all(root.join(".tools/just-1")).unwrap();

        let copy = copy_project(root).unwrap();
        let copied = copy.root();
        assert_ne!(copied, root);
        assert_eq!(
            std::fs::read_to_string(copied.join("tracked")).unwrap(),
            "changed, not committed"
        );
        assert!(copied.join("untracked").exists());
        assert!(!copied.join("deleted").exists());
        assert!(!copied.join("dist").exists());
        assert!(!copied.join(".git").exists());
        #[cfg(unix)]
        assert!(copied.join(".tools/just-1").is_dir());
        let kept = copied.to_owned();
        drop(copy);
        assert!(!kept.exists(), "the copy is removed when dropped");
    }

    #[test]
    fn outside_git_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = format!("{:#}", copy_project(dir.path()).unwrap_err());
        assert!(error.contains("must be a git checkout"), "{error}");
    }
}
