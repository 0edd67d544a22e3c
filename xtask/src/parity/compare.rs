//! Comparing two manifests: which files differ (with their sizes, and, where both trees are
//! on this machine, the first differing byte and a short diff of text files), which are on
//! one side only, and which changed their executable bit, link target or test results.

use std::{
    collections::BTreeMap,
    fmt::{self, Write as _},
    fs::File,
    io::Read,
    path::{Path, PathBuf},
};

use super::{
    junit::{self, TestDifference},
    manifest::{Entry, EntryKind, FileEntry, Manifest},
};
use crate::digest::{BLOCK, Sha256Stream};

/// Text files up to this size get a unified diff.
const TEXT_LIMIT: u64 = 256 * 1024;
/// Lines of a diff shown, at most.
const DIFF_LINES: usize = 40;

/// One side of a comparison: its manifest and, when the tree is on this machine, its root.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub label: &'a str,
    pub manifest: &'a Manifest,
    pub root: Option<&'a Path>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error(
        "{label} has no files: nothing was built there to compare, and an empty build is no proof of parity; check that the recipes declare their outputs with `[metadata(\"outputs\", ..)]`"
    )]
    Empty { label: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub left: String,
    pub right: String,
    /// Paths on either side.
    pub n_paths: usize,
    /// Test results on the left side.
    pub n_tests: usize,
    pub differences: Vec<Difference>,
    /// Differences in how the two were built (commit, tools) that may explain the rest.
    pub notes: Vec<String>,
    /// Recipes that failed on the left (and, when identical, on the right too).
    pub failed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Same path, different bytes.
    Content {
        path: String,
        left_size: u64,
        right_size: u64,
        detail: Detail,
    },
    /// junit reports whose tests differ by name or outcome.
    Tests {
        path: String,
        tests: Vec<TestDifference>,
    },
    OnlyLeft {
        path: String,
        what: String,
    },
    OnlyRight {
        path: String,
        what: String,
    },
    Executable {
        path: String,
        left: bool,
        right: bool,
    },
    LinkTarget {
        path: String,
        left: String,
        right: String,
    },
    /// A file on one side, a symbolic link on the other.
    Kind {
        path: String,
        left: &'static str,
        right: &'static str,
    },
    /// Different recipes failed (after writing their outputs) on the two sides.
    Failed {
        left: Vec<String>,
        right: Vec<String>,
    },
}

impl Difference {
    pub fn path(&self) -> &str {
        match self {
            Difference::Content { path, .. }
            | Difference::Tests { path, .. }
            | Difference::OnlyLeft { path, .. }
            | Difference::OnlyRight { path, .. }
            | Difference::Executable { path, .. }
            | Difference::LinkTarget { path, .. }
            | Difference::Kind { path, .. } => path,
            Difference::Failed { .. } => "",
        }
    }
}

/// Where two files differ, when both could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// The first differing byte, and a unified diff when both are small text files.
    Found {
        first_difference: u64,
        diff: Option<String>,
    },
    /// Why there is nothing more to say than the sizes.
    Unavailable(String),
}

/// Compares `left` with `right`, path by path.
pub fn compare(left: Side<'_>, right: Side<'_>) -> Result<Comparison, CompareError> {
    for side in [left, right] {
        if side.manifest.entries.is_empty() {
            return Err(CompareError::Empty {
                label: side.label.to_owned(),
            });
        }
    }
    let mut paths: BTreeMap<Vec<u8>, (Option<&Entry>, Option<&Entry>)> = BTreeMap::new();
    for entry in &left.manifest.entries {
        paths.entry(entry.key()).or_default().0 = Some(entry);
    }
    for entry in &right.manifest.entries {
        paths.entry(entry.key()).or_default().1 = Some(entry);
    }
    let mut differences = Vec::new();
    let (failed_left, failed_right) = (
        &left.manifest.provenance.failed,
        &right.manifest.provenance.failed,
    );
    if failed_left != failed_right {
        differences.push(Difference::Failed {
            left: failed_left.clone(),
            right: failed_right.clone(),
        });
    }
    for (a, b) in paths.values() {
        match (a, b) {
            (Some(a), Some(b)) => compare_entries(left, right, a, b, &mut differences),
            (Some(a), None) => differences.push(Difference::OnlyLeft {
                path: a.display_path(),
                what: what(a),
            }),
            (None, Some(b)) => differences.push(Difference::OnlyRight {
                path: b.display_path(),
                what: what(b),
            }),
            (None, None) => unreachable!("every path comes from a side"),
        }
    }
    Ok(Comparison {
        left: left.label.to_owned(),
        right: right.label.to_owned(),
        n_paths: paths.len(),
        n_tests: left.manifest.counts().2,
        differences,
        notes: notes(left, right),
        failed: failed_left.clone(),
    })
}

fn compare_entries(
    left: Side<'_>,
    right: Side<'_>,
    a: &Entry,
    b: &Entry,
    differences: &mut Vec<Difference>,
) {
    let path = a.display_path();
    match (&a.kind, &b.kind) {
        (EntryKind::File(fa), EntryKind::File(fb)) => {
            if let (Some(ta), Some(tb)) = (&fa.tests, &fb.tests) {
                let tests = junit::compare(ta, tb);
                if !tests.is_empty() {
                    differences.push(Difference::Tests {
                        path: path.clone(),
                        tests,
                    });
                }
            } else if fa.sha256 != fb.sha256 || fa.size != fb.size {
                differences.push(Difference::Content {
                    path: path.clone(),
                    left_size: fa.size,
                    right_size: fb.size,
                    detail: detail(left, right, a, fa, fb),
                });
            }
            if let (Some(xa), Some(xb)) = (fa.executable, fb.executable)
                && xa != xb
            {
                differences.push(Difference::Executable {
                    path,
                    left: xa,
                    right: xb,
                });
            }
        }
        (EntryKind::Symlink(la), EntryKind::Symlink(lb)) => {
            if la.target_bytes() != lb.target_bytes() {
                differences.push(Difference::LinkTarget {
                    path,
                    left: la.display_target(),
                    right: lb.display_target(),
                });
            }
        }
        (ka, kb) => differences.push(Difference::Kind {
            path,
            left: kind_name(ka),
            right: kind_name(kb),
        }),
    }
}

fn kind_name(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::File(_) => "a file",
        EntryKind::Symlink(_) => "a symbolic link",
    }
}

fn what(entry: &Entry) -> String {
    match &entry.kind {
        EntryKind::File(file) => format!("{} bytes", file.size),
        EntryKind::Symlink(link) => format!("a link to `{}`", link.display_target()),
    }
}

/// Where the files differ, read from both trees when both are here and still hold the
/// bytes their manifests describe.
fn detail(left: Side<'_>, right: Side<'_>, entry: &Entry, a: &FileEntry, b: &FileEntry) -> Detail {
    let (Some(left_root), Some(right_root)) = (left.root, right.root) else {
        return Detail::Unavailable(
            "the trees are not both on this machine, so only sizes are known".to_owned(),
        );
    };
    let (Some(path_a), Some(path_b)) = (entry.path_under(left_root), entry.path_under(right_root))
    else {
        return Detail::Unavailable("this platform cannot name the file".to_owned());
    };
    let found = match first_difference(&path_a, &path_b) {
        Ok(found) => found,
        Err(error) => return Detail::Unavailable(format!("cannot read the files: {error}")),
    };
    if found.left_sha256 != a.sha256 || found.right_sha256 != b.sha256 {
        return Detail::Unavailable(
            "the files changed after the manifests were written".to_owned(),
        );
    }
    let diff = (a.size <= TEXT_LIMIT && b.size <= TEXT_LIMIT)
        .then(|| text_diff(&path_a, &path_b, left.label, right.label, &entry.path))
        .flatten();
    Detail::Found {
        first_difference: found.offset,
        diff,
    }
}

struct FirstDifference {
    offset: u64,
    left_sha256: String,
    right_sha256: String,
}

/// Streams both files side by side: the offset of the first byte that differs (the shorter
/// length when one is a prefix of the other), and the digests of both.
fn first_difference(a: &Path, b: &Path) -> std::io::Result<FirstDifference> {
    let mut file_a = File::open(a)?;
    let mut file_b = File::open(b)?;
    let (mut buffer_a, mut buffer_b) = (vec![0u8; BLOCK], vec![0u8; BLOCK]);
    let (mut hash_a, mut hash_b) = (Sha256Stream::default(), Sha256Stream::default());
    let mut position = 0u64;
    let mut offset = None;
    loop {
        let read_a = fill(&mut file_a, &mut buffer_a)?;
        let read_b = fill(&mut file_b, &mut buffer_b)?;
        hash_a.update(&buffer_a[..read_a]);
        hash_b.update(&buffer_b[..read_b]);
        if offset.is_none() {
            let common = read_a.min(read_b);
            if let Some(at) = buffer_a[..common]
                .iter()
                .zip(&buffer_b[..common])
                .position(|(x, y)| x != y)
            {
                offset = Some(position + at as u64);
            } else if read_a != read_b {
                offset = Some(position + common as u64);
            }
        }
        position += read_a.max(read_b) as u64;
        if read_a == 0 && read_b == 0 {
            break;
        }
    }
    Ok(FirstDifference {
        offset: offset.unwrap_or(position),
        left_sha256: hash_a.finish(),
        right_sha256: hash_b.finish(),
    })
}

/// Reads until `buffer` is full or the file ends.
fn fill(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// A unified diff of two small text files (UTF-8 without NUL bytes), cut to a few lines.
fn text_diff(a: &Path, b: &Path, left: &str, right: &str, path: &str) -> Option<String> {
    let text = |path: &Path| {
        std::fs::read(path)
            .ok()
            .filter(|bytes| !bytes.contains(&0))
            .and_then(|bytes| String::from_utf8(bytes).ok())
    };
    let (old, new) = (text(a)?, text(b)?);
    let diff = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{left}/{path}"), &format!("{right}/{path}"))
        .to_string();
    let lines: Vec<&str> = diff.lines().collect();
    let mut shown = lines
        .iter()
        .take(DIFF_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > DIFF_LINES {
        let _ = write!(shown, "\n… {} more lines of diff", lines.len() - DIFF_LINES);
    }
    Some(shown)
}

/// What differs in how the two trees were made.
fn notes(left: Side<'_>, right: Side<'_>) -> Vec<String> {
    let (a, b) = (&left.manifest.provenance, &right.manifest.provenance);
    let mut notes = Vec::new();
    if a.git_commit != b.git_commit {
        notes.push(format!(
            "built from different commits: {} in {}, {} in {}",
            a.git_commit.as_deref().unwrap_or("none"),
            left.label,
            b.git_commit.as_deref().unwrap_or("none"),
            right.label
        ));
    }
    for (label, provenance) in [(left.label, a), (right.label, b)] {
        if provenance.git_dirty == Some(true) {
            notes.push(format!(
                "{label} was built from a tree with uncommitted changes"
            ));
        }
    }
    let tools: std::collections::BTreeSet<&String> = a.tools.keys().chain(b.tools.keys()).collect();
    for tool in tools {
        let (va, vb) = (a.tools.get(tool), b.tools.get(tool));
        if va != vb {
            notes.push(format!(
                "{tool} {} in {}, {} in {}",
                va.map_or("absent", String::as_str),
                left.label,
                vb.map_or("absent", String::as_str),
                right.label
            ));
        }
    }
    if a.recipes != b.recipes {
        notes.push(format!(
            "different recipes ran: {} in {}, {} in {}",
            a.recipes.join(", "),
            left.label,
            b.recipes.join(", "),
            right.label
        ));
    }
    notes
}

impl Comparison {
    pub fn identical(&self) -> bool {
        self.differences.is_empty()
    }

    /// One line: what was compared and how it came out.
    pub fn summary(&self) -> String {
        let (left, right) = (&self.left, &self.right);
        if self.identical() {
            let failed = if self.failed.is_empty() {
                String::new()
            } else {
                format!(
                    "; the same recipes failed on both: {}",
                    quoted(&self.failed)
                )
            };
            return format!(
                "{left} and {right} are identical: {} path{} and {} test result{}{failed}",
                self.n_paths,
                plural(self.n_paths),
                self.n_tests,
                plural(self.n_tests)
            );
        }
        let count =
            |test: fn(&Difference) -> bool| self.differences.iter().filter(|d| test(d)).count();
        let parts = [
            (
                count(|d| matches!(d, Difference::Content { .. } | Difference::Kind { .. })),
                "with different contents",
            ),
            (
                count(|d| matches!(d, Difference::Tests { .. })),
                "with different test results",
            ),
            (
                count(|d| matches!(d, Difference::OnlyLeft { .. })),
                "only in LEFT",
            ),
            (
                count(|d| matches!(d, Difference::OnlyRight { .. })),
                "only in RIGHT",
            ),
            (
                count(|d| matches!(d, Difference::Executable { .. })),
                "with a different executable bit",
            ),
            (
                count(|d| matches!(d, Difference::LinkTarget { .. })),
                "linking elsewhere",
            ),
        ];
        let failed = if self
            .differences
            .iter()
            .any(|d| matches!(d, Difference::Failed { .. }))
        {
            "different recipes failed; "
        } else {
            ""
        };
        let described: Vec<String> = parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| {
                format!(
                    "{n} path{} {}",
                    plural(*n),
                    what.replace("LEFT", left).replace("RIGHT", right)
                )
            })
            .collect();
        let described = if described.is_empty() {
            "no path differs".to_owned()
        } else {
            described.join(", ")
        };
        format!(
            "{left} and {right} differ: {failed}{described} (of {} paths)",
            self.n_paths
        )
    }
}

impl fmt::Display for Comparison {
    /// The differences, one block per path, then the notes; nothing when identical.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for difference in &self.differences {
            self.write_difference(f, difference)?;
        }
        if !self.identical() {
            for note in &self.notes {
                writeln!(f, "note: {note}")?;
            }
        }
        Ok(())
    }
}

impl Comparison {
    fn write_difference(&self, f: &mut fmt::Formatter<'_>, difference: &Difference) -> fmt::Result {
        let (left, right) = (&self.left, &self.right);
        let width = left.len().max(right.len()) + "only in ".len();
        match difference {
            Difference::Content {
                path,
                left_size,
                right_size,
                detail,
            } => {
                write!(
                    f,
                    "{:<width$}  {path}: {left_size} bytes in {left}, {right_size} in {right}",
                    "differs"
                )?;
                write_detail(f, detail)
            }
            Difference::Tests { path, tests } => {
                writeln!(
                    f,
                    "{:<width$}  {path}: {} test{} differ",
                    "tests",
                    tests.len(),
                    plural(tests.len())
                )?;
                for test in tests {
                    writeln!(
                        f,
                        "    {}: {} in {left}, {} in {right}",
                        test.name,
                        junit::outcomes(&test.left),
                        junit::outcomes(&test.right)
                    )?;
                }
                Ok(())
            }
            Difference::OnlyLeft { path, what } => {
                writeln!(f, "{:<width$}  {path} ({what})", format!("only in {left}"))
            }
            Difference::OnlyRight { path, what } => {
                writeln!(f, "{:<width$}  {path} ({what})", format!("only in {right}"))
            }
            Difference::Executable {
                path,
                left: in_left,
                right: in_right,
            } => {
                let bit = |executable: bool| {
                    if executable {
                        "executable"
                    } else {
                        "not executable"
                    }
                };
                writeln!(
                    f,
                    "{:<width$}  {path}: {} in {left}, {} in {right}",
                    "mode",
                    bit(*in_left),
                    bit(*in_right)
                )
            }
            Difference::LinkTarget {
                path,
                left: to_left,
                right: to_right,
            } => writeln!(
                f,
                "{:<width$}  {path}: links to `{to_left}` in {left}, to `{to_right}` in {right}",
                "link"
            ),
            Difference::Kind {
                path,
                left: in_left,
                right: in_right,
            } => writeln!(
                f,
                "{:<width$}  {path}: {in_left} in {left}, {in_right} in {right}",
                "kind"
            ),
            Difference::Failed {
                left: in_left,
                right: in_right,
            } => writeln!(
                f,
                "{:<width$}  recipes that failed: {} in {left}, {} in {right}",
                "failed",
                quoted(in_left),
                quoted(in_right)
            ),
        }
    }
}

/// The rest of a `differs` line: where the files differ, and a diff of text files.
fn write_detail(f: &mut fmt::Formatter<'_>, detail: &Detail) -> fmt::Result {
    match detail {
        Detail::Found {
            first_difference,
            diff,
        } => {
            writeln!(
                f,
                "; first difference at offset {first_difference} ({first_difference:#x})"
            )?;
            for line in diff.iter().flat_map(|diff| diff.lines()) {
                writeln!(f, "    {line}")?;
            }
            Ok(())
        }
        Detail::Unavailable(why) => writeln!(f, " ({why})"),
    }
}

/// `` `a`, `b` ``, or `none`.
fn quoted(recipes: &[String]) -> String {
    if recipes.is_empty() {
        return "none".to_owned();
    }
    recipes
        .iter()
        .map(|recipe| format!("`{recipe}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The root recorded in a manifest, when that directory exists here.
pub fn recorded_root(manifest: &Manifest) -> Option<PathBuf> {
    manifest
        .root
        .as_deref()
        .map(PathBuf::from)
        .filter(|root| root.is_dir())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::parity::manifest::Provenance;

    /// A tree of files: `(path, contents)`.
    fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            write(dir.path(), path, contents);
        }
        dir
    }

    fn write(root: &Path, path: &str, contents: &[u8]) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    fn manifest(root: &Path, side: &str) -> Manifest {
        let provenance = Provenance {
            side: side.into(),
            runner: "local".into(),
            platform: "linux-x64".into(),
            git_commit: Some("abc".into()),
            ..Provenance::default()
        };
        Manifest::of_tree(root, provenance, 2).unwrap()
    }

    fn compare_trees(left: &Path, right: &Path) -> Comparison {
        let (a, b) = (manifest(left, "left"), manifest(right, "right"));
        compare(
            Side {
                label: "left",
                manifest: &a,
                root: Some(left),
            },
            Side {
                label: "right",
                manifest: &b,
                root: Some(right),
            },
        )
        .unwrap()
    }

    const FILES: &[(&str, &[u8])] = &[
        ("dist/app", b"\x7fELF binary \x00\x01\x02 payload"),
        ("notes.txt", b"one\ntwo\nthree\n"),
    ];

    #[test]
    fn identical_trees_are_identical() {
        let (a, b) = (tree(FILES), tree(FILES));
        let comparison = compare_trees(a.path(), b.path());
        assert!(comparison.identical(), "{comparison}");
        assert_eq!(comparison.to_string(), "");
        assert_eq!(
            comparison.summary(),
            "left and right are identical: 2 paths and 0 test results"
        );
    }

    #[test]
    fn one_changed_byte_is_found_with_its_offset() {
        let (a, b) = (tree(FILES), tree(FILES));
        write(b.path(), "dist/app", b"\x7fELF binary \x00\x01\x03 payload");
        let comparison = compare_trees(a.path(), b.path());
        assert_eq!(
            comparison.differences,
            [Difference::Content {
                path: "dist/app".into(),
                left_size: 23,
                right_size: 23,
                detail: Detail::Found {
                    first_difference: 14,
                    diff: None
                },
            }]
        );
        let report = comparison.to_string();
        assert!(
            report.starts_with(
                "differs        dist/app: 23 bytes in left, 23 in right; first difference at offset 14 (0xe)\n"
            ),
            "{report}"
        );
        assert_eq!(
            comparison.summary(),
            "left and right differ: 1 path with different contents (of 2 paths)"
        );
    }

    #[test]
    fn a_text_file_gets_a_short_diff_and_a_prefix_its_length() {
        let (a, b) = (tree(FILES), tree(FILES));
        write(b.path(), "notes.txt", b"one\nTWO\nthree\n");
        write(
            b.path(),
            "dist/app",
            b"\x7fELF binary \x00\x01\x02 payload and more",
        );
        let comparison = compare_trees(a.path(), b.path());
        let report = comparison.to_string();
        assert!(
            report
                .contains("dist/app: 23 bytes in left, 32 in right; first difference at offset 23"),
            "{report}"
        );
        assert!(
            report.contains(
                "notes.txt: 14 bytes in left, 14 in right; first difference at offset 4 (0x4)\n    --- left/notes.txt\n    +++ right/notes.txt\n    @@ -1,3 +1,3 @@\n     one\n    -two\n    +TWO\n     three\n"
            ),
            "{report}"
        );
    }

    #[test]
    fn extra_and_missing_files_are_named() {
        let (a, b) = (tree(FILES), tree(FILES));
        write(a.path(), "dist/old", b"stale");
        write(b.path(), "dist/new", b"fresh!");
        let comparison = compare_trees(a.path(), b.path());
        assert_eq!(
            comparison.differences,
            [
                Difference::OnlyRight {
                    path: "dist/new".into(),
                    what: "6 bytes".into()
                },
                Difference::OnlyLeft {
                    path: "dist/old".into(),
                    what: "5 bytes".into()
                },
            ]
        );
        let report = comparison.to_string();
        assert!(
            report.contains("only in right  dist/new (6 bytes)\n"),
            "{report}"
        );
        assert!(
            report.contains("only in left   dist/old (5 bytes)\n"),
            "{report}"
        );
    }

    #[test]
    fn empty_trees_are_an_error_not_a_match() {
        let (a, b) = (tree(&[]), tree(&[]));
        std::fs::create_dir_all(b.path().join("dist")).unwrap();
        let (left, right) = (manifest(a.path(), "left"), manifest(b.path(), "right"));
        let side = |label, manifest| Side {
            label,
            manifest,
            root: None,
        };
        let error = compare(side("left", &left), side("right", &right)).unwrap_err();
        assert_eq!(
            error,
            CompareError::Empty {
                label: "left".into()
            }
        );
        assert!(error.to_string().starts_with("left has no files"));
        let full = tree(FILES);
        let full = manifest(full.path(), "full");
        assert!(compare(side("full", &full), side("right", &right)).is_err());
    }

    #[test]
    fn without_the_trees_only_sizes_are_known() {
        let (a, b) = (tree(FILES), tree(FILES));
        write(b.path(), "notes.txt", b"one\n");
        let (left, right) = (manifest(a.path(), "left"), manifest(b.path(), "right"));
        let comparison = compare(
            Side {
                label: "left",
                manifest: &left,
                root: None,
            },
            Side {
                label: "right",
                manifest: &right,
                root: Some(b.path()),
            },
        )
        .unwrap();
        assert!(matches!(
            &comparison.differences[0],
            Difference::Content { detail: Detail::Unavailable(why), .. } if why.contains("not both on this machine")
        ));
    }

    #[test]
    fn a_tree_changed_after_its_manifest_is_not_trusted_for_details() {
        let (a, b) = (tree(FILES), tree(FILES));
        write(b.path(), "notes.txt", b"one\n");
        let (left, right) = (manifest(a.path(), "left"), manifest(b.path(), "right"));
        write(b.path(), "notes.txt", b"something else\n");
        let side = |label, manifest, root| Side {
            label,
            manifest,
            root: Some(root),
        };
        let comparison = compare(
            side("left", &left, a.path()),
            side("right", &right, b.path()),
        )
        .unwrap();
        assert!(matches!(
            &comparison.differences[0],
            Difference::Content { detail: Detail::Unavailable(why), .. } if why.contains("changed after")
        ));
    }

    #[test]
    fn junit_reports_compare_by_test_not_by_bytes() {
        let report = |time: &str, failure: &str| {
            format!(
                r#"<testsuites><testsuite name="test/a.test.ts" time="{time}"><testcase name="parses" time="{time}">{failure}</testcase><testcase name="lists"/></testsuite></testsuites>"#
            )
        };
        let a = tree(&[("reports/junit.xml", report("0.1", "").as_bytes())]);
        let b = tree(&[("reports/junit.xml", report("0.9", "").as_bytes())]);
        assert!(compare_trees(a.path(), b.path()).identical());

        write(
            b.path(),
            "reports/junit.xml",
            report("0.2", "<failure message=\"no\"/>").as_bytes(),
        );
        let comparison = compare_trees(a.path(), b.path());
        assert_eq!(
            comparison.to_string(),
            "tests          reports/junit.xml: 1 test differ\n    test/a.test.ts > parses: passed in left, failed in right\n"
        );
        assert_eq!(comparison.n_tests, 2);
    }

    #[test]
    fn notes_say_how_the_builds_differ() {
        let (a, b) = (tree(FILES), tree(FILES));
        write(b.path(), "notes.txt", b"one\n");
        let left = manifest(a.path(), "left");
        let mut right = manifest(b.path(), "right");
        right.provenance.git_commit = Some("def".into());
        right.provenance.tools.insert("bun".into(), "1.4.6".into());
        let side = |label, manifest| Side {
            label,
            manifest,
            root: None,
        };
        let comparison = compare(side("left", &left), side("right", &right)).unwrap();
        assert_eq!(
            comparison.notes,
            [
                "built from different commits: abc in left, def in right",
                "bun absent in left, 1.4.6 in right"
            ]
        );
        assert!(comparison.to_string().ends_with(
            "note: built from different commits: abc in left, def in right\nnote: bun absent in left, 1.4.6 in right\n"
        ));
    }

    #[cfg(unix)]
    #[test]
    fn links_exec_bits_kinds_and_names_that_are_not_utf8() {
        use std::os::unix::{ffi::OsStrExt, fs::PermissionsExt};
        let (a, b) = (tree(FILES), tree(FILES));
        let symlink = std::os::unix::fs::symlink::<&str, std::path::PathBuf>;
        symlink("dist/app", a.path().join("latest")).unwrap();
        symlink("notes.txt", b.path().join("latest")).unwrap();
        std::fs::set_permissions(
            b.path().join("dist/app"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        symlink("notes.txt", a.path().join("kind")).unwrap();
        write(b.path(), "kind", b"notes.txt");
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        std::fs::write(a.path().join(odd), b"latin-1 name").unwrap();
        std::fs::write(b.path().join(odd), b"latin-1 NAME").unwrap();

        let comparison = compare_trees(a.path(), b.path());
        let report = comparison.to_string();
        assert_eq!(
            comparison.differences,
            [
                Difference::Content {
                    path: "caf\u{fffd}.txt (bytes 636166e92e747874)".into(),
                    left_size: 12,
                    right_size: 12,
                    detail: Detail::Found {
                        first_difference: 8,
                        diff: Some(
                            "--- left/caf\u{fffd}.txt\n+++ right/caf\u{fffd}.txt\n@@ -1 +1 @@\n-latin-1 name\n\\ No newline at end of file\n+latin-1 NAME\n\\ No newline at end of file"
                                .into()
                        )
                    },
                },
                Difference::Executable {
                    path: "dist/app".into(),
                    left: false,
                    right: true
                },
                Difference::Kind {
                    path: "kind".into(),
                    left: "a symbolic link",
                    right: "a file"
                },
                Difference::LinkTarget {
                    path: "latest".into(),
                    left: "dist/app".into(),
                    right: "notes.txt".into()
                },
            ],
            "{report}"
        );
        assert!(
            report
                .contains("mode           dist/app: not executable in left, executable in right\n"),
            "{report}"
        );
        assert!(
            report.contains(
                "link           latest: links to `dist/app` in left, to `notes.txt` in right\n"
            ),
            "{report}"
        );
        assert!(
            report.contains("kind           kind: a symbolic link in left, a file in right\n"),
            "{report}"
        );
    }
}
