//! Where the sources come from: the commit of a checkout and whether it has changes.

use std::path::Path;

use serde::Serialize;
use xshell::{Shell, cmd};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Git {
    /// `None` outside a git checkout.
    pub commit: Option<String>,
    /// Files differ from the commit, untracked ones that git does not ignore included (they
    /// can be inputs of a build).
    pub dirty: Option<bool>,
}

impl Git {
    pub fn of(root: &Path) -> Git {
        let Ok(sh) = Shell::new() else {
            return Git::default();
        };
        sh.change_dir(root);
        let commit = cmd!(sh, "git rev-parse --verify HEAD")
            .quiet()
            .ignore_stderr()
            .read()
            .ok()
            .map(|commit| commit.trim().to_owned())
            .filter(|commit| !commit.is_empty());
        let dirty = commit.as_ref().and_then(|_| {
            cmd!(sh, "git status --porcelain")
                .quiet()
                .ignore_stderr()
                .read()
                .ok()
                .map(|status| !status.trim().is_empty())
        });
        Git { commit, dirty }
    }
}
