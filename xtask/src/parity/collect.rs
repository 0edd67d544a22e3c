//! The artifacts of a run: what the plan's steps declare as `outputs` (paths relative to the
//! project; the last component may hold `*` wildcards), found under the directory the steps
//! ran in, and copied into a side's own directory with the same relative paths.

use std::{
    collections::BTreeMap,
    path::{Component, Path, PathBuf},
};

use color_eyre::{Result, eyre::WrapErr};
use tracing::{debug, info};
use walkdir::WalkDir;

use crate::plan::{Plan, StepId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    #[error(
        "recipe `{step}` declares the output `{pattern}`, but its run produced nothing that matches it; make the recipe write it, or fix its `[metadata(\"outputs\", ..)]`"
    )]
    NothingMatched { step: String, pattern: String },
    #[error(
        "the plan declares no outputs, so there is nothing to compare; declare what the recipes write with `[metadata(\"outputs\", ..)]`"
    )]
    NoOutputs,
}

/// Files and symbolic links found under the plan's outputs, by path relative to the root,
/// with the step that declared them.
pub type Artifacts = BTreeMap<PathBuf, StepId>;

/// Every step's declared output patterns.
fn patterns(plan: &Plan) -> impl Iterator<Item = (StepId, &str)> {
    plan.steps.iter().flat_map(|step| {
        step.metadata
            .outputs
            .iter()
            .map(move |pattern| (step.id, pattern.as_str()))
    })
}

/// Fails unless some step of `plan` declares an output.
pub fn check_declared(plan: &Plan) -> Result<(), CollectError> {
    if patterns(plan).next().is_none() {
        return Err(CollectError::NoOutputs);
    }
    Ok(())
}

/// The files and links the plan's outputs match under `root`. Every declared output must match
/// at least one file or link: a step that declared one and produced none is an error.
pub fn find(plan: &Plan, root: &Path) -> Result<Artifacts> {
    check_declared(plan)?;
    let mut artifacts = Artifacts::new();
    for (id, pattern) in patterns(plan) {
        let step = plan.step(id).invocation.to_string();
        let mut n_found = 0;
        for top in matches(root, pattern)? {
            for relative in expand(root, &top)? {
                n_found += 1;
                artifacts.entry(relative).or_insert(id);
            }
        }
        if n_found == 0 {
            return Err(CollectError::NothingMatched {
                step,
                pattern: pattern.to_owned(),
            }
            .into());
        }
        debug!(%step, pattern, n_found, "collected output");
    }
    Ok(artifacts)
}

/// Removes whatever the plan's outputs match under `root` (left by an earlier run), so that
/// only what this run writes is collected. Returns how many paths were removed.
pub fn remove_stale(plan: &Plan, root: &Path) -> Result<usize> {
    let mut n_removed = 0;
    for (_, pattern) in patterns(plan) {
        for top in matches(root, pattern)? {
            let path = root.join(&top);
            let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir());
            let removed = if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.wrap_err_with(|| {
                format!("cannot remove the earlier output `{}`", path.display())
            })?;
            n_removed += 1;
        }
    }
    if n_removed > 0 {
        info!(n_removed, root = %root.display(), "removed earlier outputs");
    }
    Ok(n_removed)
}

/// Copies `artifacts` from `root` into a new directory `destination`, replacing whatever was
/// there only once every copy is done; links are copied as links.
pub fn copy(artifacts: &Artifacts, root: &Path, destination: &Path) -> Result<()> {
    let parent = destination.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .wrap_err_with(|| format!("cannot create `{}`", parent.display()))?;
    let name = destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(parent)
        .wrap_err_with(|| format!("cannot create a directory in `{}`", parent.display()))?;
    for relative in artifacts.keys() {
        super::fresh::copy_one(root, staging.path(), relative)?;
    }
    if std::fs::symlink_metadata(destination).is_ok() {
        std::fs::remove_dir_all(destination)
            .wrap_err_with(|| format!("cannot remove `{}`", destination.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, destination).wrap_err_with(|| {
        let _ = std::fs::remove_dir_all(&staged);
        format!(
            "cannot move the collected outputs to `{}`",
            destination.display()
        )
    })?;
    Ok(())
}

/// The paths (relative to `root`) that `pattern` names: one path, or with `*` in the last
/// component every entry of that directory whose name matches. (The metadata allows `*` in
/// the last component only.)
fn matches(root: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let mut components: Vec<&str> = Vec::new();
    for component in Path::new(pattern).components() {
        match component {
            Component::Normal(part) => components.push(part.to_str().unwrap_or_default()),
            Component::ParentDir => {
                components.pop();
            }
            _ => {}
        }
    }
    let Some((last, directories)) = components.split_last() else {
        return Ok(Vec::new());
    };
    let directory: PathBuf = directories.iter().collect();
    if !last.contains('*') {
        let relative = directory.join(last);
        return Ok(if std::fs::symlink_metadata(root.join(&relative)).is_ok() {
            vec![relative]
        } else {
            Vec::new()
        });
    }
    let listing = match std::fs::read_dir(root.join(&directory)) {
        Ok(listing) => listing,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error)
                .wrap_err_with(|| format!("cannot list `{}`", root.join(&directory).display()));
        }
    };
    let mut found = Vec::new();
    for item in listing {
        let item =
            item.wrap_err_with(|| format!("cannot list `{}`", root.join(&directory).display()))?;
        if wildcard(last.as_bytes(), item.file_name().as_encoded_bytes()) {
            found.push(directory.join(item.file_name()));
        }
    }
    found.sort();
    Ok(found)
}

/// A matched path: itself when it is a file or a link, else every file and link under it.
fn expand(root: &Path, relative: &Path) -> Result<Vec<PathBuf>> {
    let path = root.join(relative);
    let metadata = std::fs::symlink_metadata(&path)
        .wrap_err_with(|| format!("cannot read `{}`", path.display()))?;
    if !metadata.is_dir() {
        return Ok(vec![relative.to_owned()]);
    }
    let mut found = Vec::new();
    for item in WalkDir::new(&path).follow_links(false).min_depth(1) {
        let item = item.wrap_err_with(|| format!("cannot walk `{}`", path.display()))?;
        if !item.file_type().is_dir() {
            let inside = item
                .path()
                .strip_prefix(root)
                .wrap_err("a walked path is outside its root")?;
            found.push(inside.to_owned());
        }
    }
    Ok(found)
}

/// Whether `name` matches `pattern`, where `*` stands for any run of bytes.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    let parts: Vec<&[u8]> = pattern.split(|&byte| byte == b'*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == name;
    };
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in middle.iter().filter(|part| !part.is_empty()) {
        match rest.windows(part.len()).position(|window| window == *part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{justfile::Justfile, plan::Invocation};

    fn plan(outputs: &str) -> Plan {
        let json = format!(
            r#"{{"recipes": {{"build": {{"name": "build", "namepath": "build", "body": [["true"]],
                "attributes": [{{"metadata": ["outputs", {outputs}]}}],
                "parameters": [{{"name": "target", "kind": "singular", "default": null}}]}}}}}}"#
        );
        let justfile = Justfile::from_dump(&json).unwrap();
        Plan::new(&justfile, &[Invocation::new("build", &["x64"])]).unwrap()
    }

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, file.as_bytes()).unwrap();
        }
        dir
    }

    fn keys(artifacts: &Artifacts) -> Vec<String> {
        artifacts
            .keys()
            .map(|path| path.to_string_lossy().replace('\\', "/"))
            .collect()
    }

    #[test]
    fn wildcards_match_within_the_last_component() {
        assert!(wildcard(b"app-x64*", b"app-x64"));
        assert!(wildcard(b"app-x64*", b"app-x64.exe"));
        assert!(!wildcard(b"app-x64*", b"app-arm64"));
        assert!(wildcard(b"*.xml", b"junit.xml"));
        assert!(wildcard(b"a*b*c", b"a-b-b-c"));
        assert!(!wildcard(b"a*b*c", b"a-c"));
        assert!(!wildcard(b"ab*ba", b"aba"));
        assert!(wildcard(b"plain", b"plain"));
        assert!(!wildcard(b"plain", b"plainer"));
    }

    #[test]
    fn finds_declared_outputs_and_only_those() {
        let dir = tree(&[
            "dist/app-x64",
            "dist/app-arm64",
            "reports/junit.xml",
            "reports/coverage/lcov.info",
            "reports/other.txt",
        ]);
        let plan = plan(r#""dist/app-{target}*", "reports/junit.xml", "reports/coverage""#);
        let artifacts = find(&plan, dir.path()).unwrap();
        assert_eq!(
            keys(&artifacts),
            [
                "dist/app-x64",
                "reports/coverage/lcov.info",
                "reports/junit.xml"
            ]
        );
    }

    #[test]
    fn an_output_that_matched_nothing_names_its_recipe() {
        let dir = tree(&["dist/app-arm64"]);
        std::fs::create_dir_all(dir.path().join("reports/coverage")).unwrap();
        for outputs in [r#""dist/app-{target}*""#, r#""reports/coverage""#] {
            let error = find(&plan(outputs), dir.path()).unwrap_err();
            assert!(
                matches!(
                    error.downcast_ref::<CollectError>(),
                    Some(CollectError::NothingMatched { step, .. }) if step == "build x64"
                ),
                "{error}"
            );
        }
    }

    #[test]
    fn stale_outputs_are_removed_and_copies_keep_paths() {
        let dir = tree(&[
            "dist/app-x64",
            "dist/app-x64.old",
            "dist/keep",
            "reports/coverage/a",
        ]);
        let plan = plan(r#""dist/app-{target}*", "reports/coverage""#);
        let artifacts = find(&plan, dir.path()).unwrap();
        let destination = dir.path().join("target/parity/local");
        copy(&artifacts, dir.path(), &destination).unwrap();
        assert_eq!(
            std::fs::read(destination.join("dist/app-x64.old")).unwrap(),
            b"dist/app-x64.old"
        );
        // A second copy replaces the first whole.
        let mut fewer = artifacts.clone();
        fewer.retain(|path, _| path.ends_with("app-x64"));
        copy(&fewer, dir.path(), &destination).unwrap();
        assert!(!destination.join("dist/app-x64.old").exists());
        assert!(destination.join("dist/app-x64").exists());

        assert_eq!(remove_stale(&plan, dir.path()).unwrap(), 3);
        assert!(dir.path().join("dist/keep").exists());
        assert!(!dir.path().join("dist/app-x64").exists());
        assert!(!dir.path().join("reports/coverage").exists());
    }

    #[test]
    fn a_plan_without_outputs_is_refused() {
        let json =
            r#"{"recipes": {"lint": {"name": "lint", "namepath": "lint", "body": [["true"]]}}}"#;
        let justfile = Justfile::from_dump(json).unwrap();
        let plan = Plan::new(&justfile, &[Invocation::new("lint", &[])]).unwrap();
        assert_eq!(check_declared(&plan), Err(CollectError::NoOutputs));
    }
}
