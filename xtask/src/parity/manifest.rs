//! Manifests: every file and symbolic link of a tree with its SHA-256, size and executable
//! bit, sorted by path, with where and how the tree was built. Files are hashed in parallel
//! and streamed, never read whole into memory.

use std::{
    cmp::Reverse,
    collections::BTreeMap,
    fs::File,
    io::Write as _,
    path::{Component, Path, PathBuf},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail, eyre},
};
use serde::{Deserialize, Serialize};
use tracing::{debug, info_span, warn};
use walkdir::WalkDir;

use super::junit::{self, TestResult};
use crate::digest::{self, BLOCK};

/// The version of the manifest format; a reader refuses other versions.
pub const FORMAT: u32 = 1;

/// XML files up to this size are read whole to find junit test results in them.
const MAX_REPORT_SIZE: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Where the tree was, on the machine that wrote the manifest. `compare` reads files from
    /// there (when it still holds the same bytes) to show where they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Sorted by the bytes of the path.
    pub entries: Vec<Entry>,
}

/// How and where a tree was built.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Which build this is: `local`, `local-fresh` or `dagger`.
    pub side: String,
    /// The runner that ran the recipes: `local` or `dagger`.
    pub runner: String,
    /// The machine that ran them, in bun's naming (`linux-x64`, `darwin-arm64`, ...).
    pub platform: String,
    /// The commit the sources came from.
    #[serde(default)]
    pub git_commit: Option<String>,
    /// Whether the working tree had changes that are not committed.
    #[serde(default)]
    pub git_dirty: Option<bool>,
    /// Tool name to version, such as `just` → `1.59.0`.
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    /// The recipes that ran, such as `build linux-x64`.
    #[serde(default)]
    pub recipes: Vec<String>,
    /// The recipes among them that failed after writing their outputs (a test recipe whose
    /// tests failed); their outputs are compared all the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the tree, `/`-separated; where it is not UTF-8, a lossy rendering (and
    /// `path_hex` has the exact bytes).
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    #[serde(flatten)]
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EntryKind {
    File(FileEntry),
    Symlink(SymlinkEntry),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub size: u64,
    pub sha256: String,
    /// Absent where the file system has no executable bit (Windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<bool>,
    /// For a junit XML report: its test results, compared instead of its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Vec<TestResult>>,
}

/// A symbolic link, recorded as a link (never followed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymlinkEntry {
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_hex: Option<String>,
}

impl Entry {
    /// The exact bytes of the path, the key entries are sorted and matched by.
    pub fn key(&self) -> Vec<u8> {
        exact_bytes(&self.path, self.path_hex.as_deref())
    }

    /// The path for people: lossy where it is not UTF-8, then with its exact bytes.
    pub fn display_path(&self) -> String {
        match &self.path_hex {
            Some(hex) => format!("{} (bytes {hex})", self.path),
            None => self.path.clone(),
        }
    }

    /// The entry's file under `root`, where this platform can name it.
    pub fn path_under(&self, root: &Path) -> Option<PathBuf> {
        let bytes = self.key();
        #[cfg(unix)]
        let relative = {
            use std::os::unix::ffi::OsStrExt;
            PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
        };
        #[cfg(not(unix))]
        let relative = PathBuf::from(String::from_utf8(bytes).ok()?);
        Some(root.join(relative))
    }
}

impl SymlinkEntry {
    pub fn target_bytes(&self) -> Vec<u8> {
        exact_bytes(&self.target, self.target_hex.as_deref())
    }

    pub fn display_target(&self) -> String {
        match &self.target_hex {
            Some(hex) => format!("{} (bytes {hex})", self.target),
            None => self.target.clone(),
        }
    }
}

/// Text for `bytes`, with the exact bytes as hex when they are not UTF-8.
fn lossless(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), None),
        Err(_) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(digest::hex(bytes)),
        ),
    }
}

fn exact_bytes(text: &str, hex: Option<&str>) -> Vec<u8> {
    hex.and_then(digest::unhex)
        .unwrap_or_else(|| text.as_bytes().to_vec())
}

impl Manifest {
    /// The manifest of the tree at `root`, hashing with `threads` threads.
    pub fn of_tree(root: &Path, provenance: Provenance, threads: usize) -> Result<Manifest> {
        Ok(Manifest {
            format: FORMAT,
            provenance,
            root: std::path::absolute(root)
                .ok()
                .and_then(|root| root.to_str().map(str::to_owned)),
            entries: scan(root, threads)?,
        })
    }

    /// Counts for messages: files, symbolic links and test results.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for entry in &self.entries {
            match &entry.kind {
                EntryKind::File(file) => {
                    counts.0 += 1;
                    counts.2 += file.tests.as_ref().map_or(0, Vec::len);
                }
                EntryKind::Symlink(_) => counts.1 += 1,
            }
        }
        counts
    }

    /// Writes the manifest as JSON, whole or not at all.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create `{}`", dir.display()))?;
        let mut file = tempfile::NamedTempFile::new_in(dir)
            .wrap_err_with(|| format!("cannot create a file in `{}`", dir.display()))?;
        file.write_all(json.as_bytes())
            .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
        #[cfg(unix)]
        {
            // Readable like any other file, not private as temporary files are.
            use std::os::unix::fs::PermissionsExt;
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
        }
        file.persist(path)
            .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
        Ok(())
    }

    /// Reads a manifest written by [`Manifest::write`], on this machine or another.
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .wrap_err_with(|| format!("cannot read manifest `{}`", path.display()))?;
        let format = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|value| value.get("format")?.as_u64());
        if let Some(format) = format
            && format != u64::from(FORMAT)
        {
            bail!(
                "manifest `{}` has format {format}, this xtask reads format {FORMAT}; write both manifests with the same version of the xtask",
                path.display()
            );
        }
        let mut manifest: Manifest = serde_json::from_str(&text).wrap_err_with(|| {
            format!(
                "`{}` is not a parity manifest; write one with `cargo xtask verify-parity --write-manifest FILE`",
                path.display()
            )
        })?;
        for entry in &manifest.entries {
            if !is_relative_inside(&entry.key()) {
                bail!(
                    "manifest `{}` lists `{}`, which is not a path inside its tree",
                    path.display(),
                    entry.display_path()
                );
            }
        }
        manifest.entries.sort_by_key(Entry::key);
        if let Some(pair) = manifest
            .entries
            .windows(2)
            .find(|pair| pair[0].key() == pair[1].key())
        {
            bail!(
                "manifest `{}` lists `{}` twice",
                path.display(),
                pair[0].display_path()
            );
        }
        Ok(manifest)
    }
}

/// A `/`-separated relative path of plain components.
fn is_relative_inside(path: &[u8]) -> bool {
    !path.is_empty()
        && path
            .split(|&byte| byte == b'/')
            .all(|part| !part.is_empty() && part != b"." && part != b"..")
}

/// A file found by the walk, to be hashed.
struct Pending {
    path: PathBuf,
    key: Vec<u8>,
    size: u64,
    executable: Option<bool>,
}

/// Every file and symbolic link under `root`, sorted by path. Directories are not entries of
/// their own: an empty directory is not part of a manifest.
pub fn scan(root: &Path, threads: usize) -> Result<Vec<Entry>> {
    let _span = info_span!("manifest", root = %root.display()).entered();
    let metadata = std::fs::metadata(root)
        .wrap_err_with(|| format!("cannot read the tree at `{}`", root.display()))?;
    if !metadata.is_dir() {
        bail!("`{}` is not a directory", root.display());
    }
    let mut entries = Vec::new();
    let mut pending = Vec::new();
    for item in WalkDir::new(root).follow_links(false).min_depth(1) {
        let item = item.wrap_err_with(|| format!("cannot walk `{}`", root.display()))?;
        let file_type = item.file_type();
        if file_type.is_dir() {
            continue;
        }
        let key = relative_key(root, item.path())?;
        if file_type.is_symlink() {
            let target = std::fs::read_link(item.path())
                .wrap_err_with(|| format!("cannot read link `{}`", item.path().display()))?;
            let (target, target_hex) = lossless(target.as_os_str().as_encoded_bytes());
            let (path, path_hex) = lossless(&key);
            entries.push(Entry {
                path,
                path_hex,
                kind: EntryKind::Symlink(SymlinkEntry { target, target_hex }),
            });
        } else if file_type.is_file() {
            let metadata = item
                .metadata()
                .wrap_err_with(|| format!("cannot read `{}`", item.path().display()))?;
            pending.push(Pending {
                path: item.path().to_owned(),
                key,
                size: metadata.len(),
                executable: executable(&metadata),
            });
        } else {
            bail!(
                "`{}` is neither a file, a directory nor a symbolic link; a manifest holds only those",
                item.path().display()
            );
        }
    }
    let digests = hash_all(&pending, threads)?;
    for (file, (sha256, size)) in pending.into_iter().zip(digests) {
        let tests = test_results(&file.path, size);
        let (path, path_hex) = lossless(&file.key);
        entries.push(Entry {
            path,
            path_hex,
            kind: EntryKind::File(FileEntry {
                size,
                sha256,
                executable: file.executable,
                tests,
            }),
        });
    }
    entries.sort_by_key(Entry::key);
    Ok(entries)
}

/// The path of `path` relative to `root`, its components joined by `/`, as exact bytes.
fn relative_key(root: &Path, path: &Path) -> Result<Vec<u8>> {
    let relative = path
        .strip_prefix(root)
        .map_err(|_| eyre!("`{}` is outside `{}`", path.display(), root.display()))?;
    let mut key = Vec::new();
    for component in relative.components() {
        let Component::Normal(part) = component else {
            bail!("`{}` is not a plain relative path", relative.display());
        };
        if !key.is_empty() {
            key.push(b'/');
        }
        key.extend_from_slice(part.as_encoded_bytes());
    }
    Ok(key)
}

#[cfg(unix)]
#[allow(clippy::unnecessary_wraps)]
fn executable(metadata: &std::fs::Metadata) -> Option<bool> {
    use std::os::unix::fs::PermissionsExt;
    Some(metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_metadata: &std::fs::Metadata) -> Option<bool> {
    None
}

/// A file's index and its SHA-256 and size.
type Hashed = (usize, Result<(String, u64)>);

/// SHA-256 and size of each file, in the order given. Up to `threads` threads take the next
/// file from a shared queue, largest first, so that no thread is left with a large file at
/// the end while the others idle.
fn hash_all(files: &[Pending], threads: usize) -> Result<Vec<(String, u64)>> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&index| Reverse(files[index].size));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let worker = || {
        let mut buffer = vec![0u8; BLOCK];
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            let path = &files[index].path;
            let result = File::open(path)
                .and_then(|mut file| digest::sha256_reader(&mut file, &mut buffer))
                .wrap_err_with(|| format!("cannot hash `{}`", path.display()));
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            done.push((index, result));
        }
        done
    };
    let threads = threads.clamp(1, files.len().max(1));
    let batches: Vec<Vec<Hashed>> = if threads == 1 {
        vec![worker()]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a hashing thread panicked"))
                .collect()
        })
    };
    let mut digests: Vec<Option<(String, u64)>> = vec![None; files.len()];
    for (index, result) in batches.into_iter().flatten() {
        digests[index] = Some(result?);
    }
    digests
        .into_iter()
        .map(|digest| digest.ok_or_else(|| eyre!("a file was not hashed")))
        .collect()
}

/// The test results of a junit XML report; `None` for any other file.
fn test_results(path: &Path, size: u64) -> Option<Vec<TestResult>> {
    let is_xml = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("xml"));
    if !is_xml || size > MAX_REPORT_SIZE {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    match junit::parse(&text) {
        Ok(results) => results,
        Err(error) => {
            warn!(path = %path.display(), %error, "not read as a JUnit report; its bytes are compared");
            None
        }
    }
    .inspect(|results| debug!(path = %path.display(), n_tests = results.len(), "JUnit report"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            side: "local".into(),
            runner: "local".into(),
            platform: "linux-x64".into(),
            ..Provenance::default()
        }
    }

    #[test]
    fn lists_files_sorted_by_their_bytes_with_digests() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::create_dir_all(dir.path().join("empty")).unwrap();
        std::fs::write(dir.path().join("a/b/c"), b"abc").unwrap();
        std::fs::write(dir.path().join("a.txt"), b"").unwrap();
        let manifest = Manifest::of_tree(dir.path(), provenance(), 2).unwrap();
        let paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
        // `.` sorts before `/`: the order of the bytes, not of a directory walk.
        assert_eq!(paths, ["a.txt", "a/b/c"]);
        let EntryKind::File(file) = &manifest.entries[1].kind else {
            panic!("a file")
        };
        assert_eq!(file.size, 3);
        assert_eq!(
            file.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)]
    fn many_threads_hash_like_one() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..50_usize {
            std::fs::write(dir.path().join(format!("f{i}")), vec![i as u8; i * 1000]).unwrap();
        }
        let one = scan(dir.path(), 1).unwrap();
        let four = scan(dir.path(), 4).unwrap();
        assert_eq!(one, four);
        assert_eq!(one.len(), 50);
    }

    #[test]
    fn round_trips_through_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), b"x").unwrap();
        std::fs::write(
            dir.path().join("junit.xml"),
            r#"<testsuites><testsuite name="s"><testcase name="t"/></testsuite></testsuites>"#,
        )
        .unwrap();
        let manifest = Manifest::of_tree(dir.path(), provenance(), 1).unwrap();
        let path = dir.path().join("out/manifest.json");
        manifest.write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), manifest);
        let EntryKind::File(report) = &manifest.entries[0].kind else {
            panic!("a file")
        };
        assert_eq!(report.tests.as_ref().unwrap()[0].name, "s > t");
    }

    #[test]
    fn rejects_what_is_not_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(&path, "{}").unwrap();
        let error = format!("{:#}", Manifest::read(&path).unwrap_err());
        assert!(error.contains("is not a parity manifest"), "{error}");
        std::fs::write(&path, r#"{"format": 99}"#).unwrap();
        let error = format!("{:#}", Manifest::read(&path).unwrap_err());
        assert!(error.contains("has format 99"), "{error}");
        std::fs::write(
            &path,
            r#"{"format": 1, "side": "a", "runner": "local", "platform": "p", "entries": [{"path": "../x", "kind": "symlink", "target": "y"}]}"#,
        )
        .unwrap();
        let error = format!("{:#}", Manifest::read(&path).unwrap_err());
        assert!(error.contains("not a path inside its tree"), "{error}");
    }

    #[test]
    fn a_missing_tree_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = format!("{:#}", scan(&dir.path().join("nope"), 1).unwrap_err());
        assert!(error.contains("cannot read the tree"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn records_links_exec_bits_and_names_that_are_not_utf8() {
        use std::os::unix::{ffi::OsStrExt, fs::PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("tool", dir.path().join("link")).unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9");
        std::fs::write(dir.path().join(odd), b"latin-1").unwrap();
        let manifest = Manifest::of_tree(dir.path(), provenance(), 2).unwrap();
        let by_path: BTreeMap<String, &Entry> = manifest
            .entries
            .iter()
            .map(|entry| (entry.path.clone(), entry))
            .collect();
        assert!(matches!(
            &by_path["tool"].kind,
            EntryKind::File(FileEntry {
                executable: Some(true),
                ..
            })
        ));
        assert!(matches!(
            &by_path["link"].kind,
            EntryKind::Symlink(SymlinkEntry { target, .. }) if target == "tool"
        ));
        let odd_entry = by_path["caf\u{fffd}"];
        assert_eq!(odd_entry.path_hex.as_deref(), Some("636166e9"));
        assert_eq!(odd_entry.key(), b"caf\xe9");
        assert_eq!(
            odd_entry.path_under(dir.path()).unwrap(),
            dir.path().join(odd)
        );
        // The exact name survives a round trip through JSON.
        let path = dir.path().join("m.json");
        manifest.write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap().entries, manifest.entries);
    }
}
