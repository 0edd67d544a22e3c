//! The project the xtask works on: a directory with a justfile.

use std::path::{Path, PathBuf};

use color_eyre::{Result, eyre::bail};

use crate::troubleshooting::Topic;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Absolute; every relative path in the plan is relative to it.
    pub root: PathBuf,
    pub justfile: PathBuf,
}

impl Project {
    /// The project at `dir`, or the workspace this xtask belongs to.
    pub fn open(dir: Option<&Path>) -> Result<Project> {
        let root = match dir {
            Some(dir) => dir.to_owned(),
            None => workspace_root(),
        };
        let root = match std::path::absolute(&root) {
            Ok(root) if root.is_dir() => root,
            _ => bail!(Topic::NoJustfile.error(format!(
                "project directory `{}` does not exist; pass `--project DIR` with a directory that holds a justfile",
                root.display()
            ))),
        };
        let Some(justfile) = ["justfile", "Justfile", ".justfile"]
            .iter()
            .map(|name| root.join(name))
            .find(|path| path.is_file())
        else {
            bail!(Topic::NoJustfile.error(format!(
                "no justfile in `{}`; pass `--project DIR` with a directory that holds a justfile",
                root.display()
            )));
        };
        Ok(Project { root, justfile })
    }

    /// Where pinned tools are installed, one directory per tool and version.
    pub fn tools_dir(&self) -> PathBuf {
        self.root.join(".tools")
    }

    /// Where run reports go.
    pub fn reports_dir(&self) -> PathBuf {
        self.root.join("reports")
    }
}

/// The cargo workspace holding this xtask.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(1)
        .expect("xtask lives one level below the workspace root")
        .to_owned()
}
