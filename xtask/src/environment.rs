//! The normalised build environment both runners give every recipe, so that the two paths
//! produce the same bytes: a fixed clock from the commit, UTC, and the C locale.

use std::path::Path;

use tracing::debug;
use xshell::{Shell, cmd};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildEnvironment {
    /// Seconds since the epoch of the last commit; "0" outside a git repository.
    pub source_date_epoch: String,
}

impl BuildEnvironment {
    /// `SOURCE_DATE_EPOCH` is taken from the environment when set (as reproducible-builds.org
    /// asks), else from the commit at `root`.
    pub fn for_project(root: &Path) -> BuildEnvironment {
        let source_date_epoch = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .filter(|value| !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
            .or_else(|| commit_time(root))
            .unwrap_or_else(|| {
                debug!("not a git checkout: SOURCE_DATE_EPOCH=0");
                "0".to_owned()
            });
        BuildEnvironment { source_date_epoch }
    }

    /// The variables, in a fixed order.
    pub fn variables(&self) -> Vec<(String, String)> {
        vec![
            (
                "SOURCE_DATE_EPOCH".to_owned(),
                self.source_date_epoch.clone(),
            ),
            ("TZ".to_owned(), "UTC".to_owned()),
            ("LC_ALL".to_owned(), "C".to_owned()),
        ]
    }
}

fn commit_time(root: &Path) -> Option<String> {
    let sh = Shell::new().ok()?;
    sh.change_dir(root);
    let output = cmd!(sh, "git log -1 --format=%ct")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    let time = output.trim();
    (!time.is_empty() && time.bytes().all(|b| b.is_ascii_digit())).then(|| time.to_owned())
}
