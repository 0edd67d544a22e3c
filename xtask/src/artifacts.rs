//! The records of a build in `dist/`: `SHA256SUMS` (in `sha256sum -c` format) and
//! `build-manifest.json` (per binary its target, size, SHA-256 and header; for the build the
//! tool versions, the commit and `SOURCE_DATE_EPOCH`).
//!
//! Both describe exactly the binaries this build produced and validated. They are removed
//! before a build starts and written (each to a temporary file, then renamed) only after
//! every binary passed validation, so `dist/` never holds records that vouch for other bytes.

use std::{
    fmt::Write as _,
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail, eyre},
};
use serde::Serialize;
use tracing::{info, warn};

use crate::{
    environment::BuildEnvironment,
    exit::Exit,
    git::Git,
    plan::{Invocation, Plan},
    session::Session,
    smoke::{Host, SmokeSpec},
    target::Target,
    troubleshooting::Topic,
    validate::{self, Binary, Validation},
};

/// The recipe that builds one target's binary: `build <target>`.
pub const BUILD_RECIPE: &str = "build";
pub const CHECKSUMS: &str = "SHA256SUMS";
pub const MANIFEST: &str = "build-manifest.json";

/// Runs `invocations`; when they build binaries, validates every one of them and writes
/// `SHA256SUMS` and the build manifest beside them. Prints the validation table.
pub fn build(session: &Session, invocations: &[Invocation], validate: bool) -> Result<()> {
    let root = &session.project.root;
    // Planned once: the outputs to validate come from the same plan that runs.
    let plan = std::sync::Arc::new(session.plan(invocations)?);
    let outputs = BuildOutputs::of(&plan)?;
    if let Some(outputs) = &outputs {
        outputs.forget_records(root)?;
    }
    crate::session::check(&session.execute(&plan, invocations)?)?;
    let Some(outputs) = outputs.filter(|_| validate) else {
        return Ok(());
    };
    let binaries = outputs.binaries(root)?;
    let validations = validate::validate(
        binaries,
        SmokeSpec::for_project(root),
        Host::this(),
        root.clone(),
    )?;
    print!("{}", validate::table(&validations));
    let problems: Vec<String> = validations.iter().flat_map(Validation::problems).collect();
    if !problems.is_empty() {
        return Err(Exit::new(
            1,
            format!(
                "validation failed; fix the build of each binary below, then rebuild it:\n  {}",
                problems.join("\n  ")
            ),
        )
        .with_topic(Topic::BinaryValidation)
        .into());
    }
    let dist = outputs.dist_dir(root);
    write_atomically(&dist.join(CHECKSUMS), checksums(&validations).as_bytes())?;
    let manifest = BuildManifest::new(session, &validations)?;
    let mut json = serde_json::to_string_pretty(&manifest)?;
    json.push('\n');
    write_atomically(&dist.join(MANIFEST), json.as_bytes())?;
    println!(
        "{}/{CHECKSUMS} and {}/{MANIFEST} cover {} binar{}",
        outputs.dist,
        outputs.dist,
        validations.len(),
        if validations.len() == 1 { "y" } else { "ies" }
    );
    outputs.note_leftovers(root, &validations);
    Ok(())
}

/// Where the build steps of a plan put their binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutputs {
    /// The one directory every binary goes to, relative to the project, with `/`.
    pub dist: String,
    /// Each target with the file-name pattern of its binary (`taskmd-linux-x64*`).
    pub targets: Vec<(Target, String)>,
}

impl BuildOutputs {
    /// The outputs of the plan's `build` steps; `None` when it builds nothing.
    pub fn of(plan: &Plan) -> Result<Option<BuildOutputs>> {
        let mut dist: Option<String> = None;
        let mut targets = Vec::new();
        for step in &plan.steps {
            // A `build` that declares no outputs produces nothing the xtask can find to
            // validate: it runs like any recipe.
            if step.invocation.recipe != BUILD_RECIPE || step.metadata.outputs.is_empty() {
                continue;
            }
            let [name] = step.invocation.arguments.as_slice() else {
                bail!(Topic::BadMetadata.error(format!(
                    "recipe `{BUILD_RECIPE}` must take exactly one argument, the target; `{}` has {}",
                    step.invocation,
                    step.invocation.arguments.len()
                )));
            };
            let target = Target::parse(name)?;
            let [output] = step.metadata.outputs.as_slice() else {
                bail!(Topic::BadMetadata.error(format!(
                    "recipe `{BUILD_RECIPE}` must declare its binary as its one output, such as `[metadata('outputs', 'dist/app-{{target}}*')]`; `{}` declares {}",
                    step.invocation,
                    step.metadata.outputs.len()
                )));
            };
            let (directory, pattern) = output.rsplit_once('/').unwrap_or((".", output));
            match &dist {
                Some(dist) if dist != directory => bail!(Topic::BadMetadata.error(format!(
                    "the binaries go to more than one directory (`{dist}` and `{directory}`); build every target into one"
                ))),
                _ => dist = Some(directory.to_owned()),
            }
            targets.push((target, pattern.to_owned()));
        }
        Ok(dist.map(|dist| BuildOutputs { dist, targets }))
    }

    pub fn dist_dir(&self, root: &Path) -> PathBuf {
        self.dist
            .split('/')
            .fold(root.to_owned(), |path, part| path.join(part))
    }

    /// Removes the records of an earlier build: they stop describing `dist/` as soon as
    /// this build replaces a binary.
    pub fn forget_records(&self, root: &Path) -> Result<()> {
        let dist = self.dist_dir(root);
        for name in [CHECKSUMS, MANIFEST] {
            let path = dist.join(name);
            match fs::remove_file(&path) {
                Ok(()) => {
                    info!(file = %path.display(), "removed the records of the previous build");
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(error)
                        .wrap_err_with(|| format!("cannot remove `{}`", path.display()));
                }
            }
        }
        Ok(())
    }

    /// The binaries the build steps produced, in plan order; an error names a target
    /// whose step passed without leaving a binary.
    pub fn binaries(&self, root: &Path) -> Result<Vec<Binary>> {
        let dist = self.dist_dir(root);
        let names = file_names(&dist)?;
        let mut binaries = Vec::new();
        for (target, pattern) in &self.targets {
            let matching: Vec<&String> =
                names.iter().filter(|name| matches(pattern, name)).collect();
            if matching.is_empty() {
                bail!(Topic::BinaryValidation.error(format!(
                    "the build of `{target}` passed but left no `{}/{pattern}`; check the `{BUILD_RECIPE}` recipe's output path",
                    self.dist
                )));
            }
            binaries.extend(matching.into_iter().map(|name| Binary {
                target: target.clone(),
                path: dist.join(name),
                shown: format!("{}/{name}", self.dist),
            }));
        }
        Ok(binaries)
    }

    /// Says which files in `dist/` this build neither produced nor vouches for.
    fn note_leftovers(&self, root: &Path, validations: &[Validation]) {
        let Ok(names) = file_names(&self.dist_dir(root)) else {
            return;
        };
        for name in names {
            let ours = validations
                .iter()
                .any(|validation| validation.binary.path.file_name() == Some(name.as_ref()));
            if !ours && name != CHECKSUMS && name != MANIFEST && !name.starts_with('.') {
                warn!(
                    file = %format!("{}/{name}", self.dist),
                    "left over from an earlier build: not validated and not in {CHECKSUMS}"
                );
            }
        }
    }
}

/// Whether a file name matches an output pattern. A trailing `*` stands for an extension
/// only (`.exe`), so `taskmd-linux-x64*` does not claim `taskmd-linux-x64-musl`.
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        None => pattern == name,
        Some(prefix) => name.strip_prefix(prefix).is_some_and(|rest| {
            rest.is_empty()
                || rest.strip_prefix('.').is_some_and(|extension| {
                    !extension.is_empty() && extension.chars().all(|c| c.is_ascii_alphanumeric())
                })
        }),
    }
}

/// The regular files directly in `dir`, sorted.
fn file_names(dir: &Path) -> Result<Vec<String>> {
    let entries = fs::read_dir(dir).wrap_err_with(|| format!("cannot list `{}`", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.wrap_err_with(|| format!("cannot list `{}`", dir.display()))?;
        if entry.file_type().is_ok_and(|kind| kind.is_file())
            && let Ok(name) = entry.file_name().into_string()
        {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// `<sha256>  <file name>` per binary, sorted by name: what `sha256sum -c` reads (in text
/// mode, two spaces), run in the directory of the binaries.
pub fn checksums(validations: &[Validation]) -> String {
    let mut lines: Vec<(String, &str)> = validations
        .iter()
        .map(|validation| (file_name(&validation.binary), validation.sha256.as_str()))
        .collect();
    lines.sort();
    lines
        .into_iter()
        .fold(String::new(), |mut text, (name, sha256)| {
            let _ = writeln!(text, "{sha256}  {name}");
            text
        })
}

fn file_name(binary: &Binary) -> String {
    binary
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `dist/build-manifest.json`. Deterministic for the same sources and tools: no clock, no
/// host names, no absolute paths, no smoke results (they depend on the machine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildManifest {
    pub manifest_version: u32,
    pub app: App,
    pub git: Git,
    pub source_date_epoch: String,
    pub tools: Tools,
    pub binaries: Vec<ManifestBinary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct App {
    pub name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tools {
    pub just: String,
    pub bun: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestBinary {
    pub target: String,
    /// Relative to the manifest's directory.
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub format: String,
    pub architecture: String,
}

impl BuildManifest {
    pub fn new(session: &Session, validations: &[Validation]) -> Result<BuildManifest> {
        let root = &session.project.root;
        let mut binaries: Vec<ManifestBinary> = validations
            .iter()
            .map(|validation| {
                let header = validation.header.as_ref().ok_or_else(|| {
                    eyre!("`{}` has no header to record", validation.binary.shown)
                })?;
                Ok(ManifestBinary {
                    target: validation.binary.target.name.clone(),
                    file: file_name(&validation.binary),
                    size: validation.size,
                    sha256: validation.sha256.clone(),
                    format: crate::header::format_name(header.format).to_owned(),
                    architecture: header.architecture_name(),
                })
            })
            .collect::<Result<_>>()?;
        binaries.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(BuildManifest {
            manifest_version: 1,
            app: App::of(root),
            git: Git::of(root),
            source_date_epoch: BuildEnvironment::for_project(root).source_date_epoch,
            tools: Tools {
                just: session.toolchain.just.version.clone(),
                bun: session
                    .toolchain
                    .bun
                    .as_ref()
                    .map(|bun| bun.version.clone()),
            },
            binaries,
        })
    }
}

impl App {
    /// `name` and `version` of `package.json`, when there is one.
    pub fn of(root: &Path) -> App {
        let json: Option<serde_json::Value> = fs::read_to_string(root.join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        let field = |key: &str| {
            json.as_ref()
                .and_then(|json| json.get(key))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        App {
            name: field("name"),
            version: field("version"),
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: readers
/// see the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .wrap_err_with(|| format!("cannot create a temporary file in `{}`", dir.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .wrap_err_with(|| format!("cannot write `{}`", file.path().display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Published beside the binaries: readable by everyone, like the files around it.
        fs::set_permissions(file.path(), fs::Permissions::from_mode(0o644)).wrap_err_with(
            || format!("cannot set the permissions of `{}`", file.path().display()),
        )?;
    }
    file.persist(path)
        .map_err(|error| error.error)
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{header::Header, smoke::SmokeOutcome};

    #[test]
    fn a_wildcard_stands_for_an_extension_only() {
        assert!(matches("taskmd-linux-x64*", "taskmd-linux-x64"));
        assert!(matches("taskmd-windows-x64*", "taskmd-windows-x64.exe"));
        assert!(!matches("taskmd-linux-x64*", "taskmd-linux-x64-musl"));
        assert!(!matches("taskmd-linux-x64*", "taskmd-linux-x64."));
        assert!(!matches("taskmd-linux-x64*", "taskmd-linux-x64.tmp~"));
        assert!(matches("app", "app"));
        assert!(!matches("app", "app.exe"));
    }

    fn validation(target: &str, file: &str, sha256: &str) -> Validation {
        Validation {
            binary: Binary {
                target: Target::parse(target).unwrap(),
                path: PathBuf::from("/p/dist").join(file),
                shown: format!("dist/{file}"),
            },
            size: 1,
            sha256: sha256.to_owned(),
            header: Some(
                Header::parse(
                    &crate::header::fixtures::elf(crate::header::fixtures::ELF_X86_64, None)[..],
                )
                .unwrap(),
            ),
            header_error: None,
            smoke: SmokeOutcome::NotRun {
                reason: "test".to_owned(),
            },
        }
    }

    #[test]
    fn checksums_are_sorted_sha256sum_lines() {
        let text = checksums(&[
            validation("windows-x64", "taskmd-windows-x64.exe", "bb"),
            validation("darwin-arm64", "taskmd-darwin-arm64", "aa"),
        ]);
        assert_eq!(
            text,
            "aa  taskmd-darwin-arm64\nbb  taskmd-windows-x64.exe\n"
        );
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CHECKSUMS);
        write_atomically(&path, b"old\n").unwrap();
        write_atomically(&path, b"new\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new\n");
        assert_eq!(file_names(dir.path()).unwrap(), [CHECKSUMS]);
        let missing = dir.path().join("no-such-dir").join(CHECKSUMS);
        let error = format!("{:#}", write_atomically(&missing, b"x").unwrap_err());
        assert!(
            error.starts_with("cannot create a temporary file in"),
            "{error}"
        );
    }
}
