//! The bench as Markdown: the machine, the versions, the table of the issue with measured
//! numbers, and each measure's details; and writing it into a document between two markers,
//! so hand-written prose around it survives a new run.

use std::{
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};

use super::{Report, Row};

pub const BEGIN: &str = "<!-- cargo xtask bench: begin (generated; edit outside the markers) -->";
pub const END: &str = "<!-- cargo xtask bench: end -->";

/// A duration in seconds, in the unit that reads best: `850 µs`, `4.2 ms`, `412 ms`, `1.23 s`,
/// `38.6 s`.
pub fn seconds(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude < 1e-3 {
        format!("{:.0} µs", value * 1e6)
    } else if magnitude < 1e-2 {
        format!("{:.1} ms", value * 1e3)
    } else if magnitude < 1.0 {
        format!("{:.0} ms", value * 1e3)
    } else if magnitude < 10.0 {
        format!("{value:.2} s")
    } else {
        format!("{value:.1} s")
    }
}

/// A difference of durations, with its sign: `+21 ms`, `−3.0 ms`.
pub fn signed_seconds(value: f64) -> String {
    if value < 0.0 {
        format!("−{}", seconds(-value))
    } else {
        format!("+{}", seconds(value))
    }
}

fn median_and_spread(stats: &super::stats::Stats) -> String {
    format!(
        "{} ({}–{})",
        seconds(stats.median()),
        seconds(stats.min()),
        seconds(stats.max())
    )
}

fn row_cells(row: &Row) -> String {
    let checks = row.checks();
    let ratio = row.baseline.as_ref().map_or_else(
        || "—".to_owned(),
        |baseline| format!("{:.2}×", super::stats::ratio(&row.candidate, baseline)),
    );
    let goal = if checks.is_empty() {
        "— (for information)".to_owned()
    } else {
        checks
            .iter()
            .map(|check| check.goal.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let result = if checks.is_empty() {
        "—".to_owned()
    } else {
        checks
            .iter()
            .map(|check| match check.met {
                Some(true) => format!("**met** ({})", check.measured),
                Some(false) => format!("**missed** ({})", check.measured),
                None => "not checked".to_owned(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "| {} | {} | {} | {} | {} | {ratio} | {goal} | {result} |",
        row.name,
        row.baseline_name.as_deref().unwrap_or("—"),
        row.candidate.runs(),
        median_and_spread(&row.candidate),
        row.baseline
            .as_ref()
            .map_or_else(|| "—".to_owned(), median_and_spread),
    )
}

fn load(load: Option<[f64; 3]>) -> String {
    load.map_or_else(
        || "unknown".to_owned(),
        |[one, five, fifteen]| format!("{one:.2}, {five:.2}, {fifteen:.2} (1, 5, 15 min)"),
    )
}

/// The generated section: everything between the markers.
pub fn render(report: &Report) -> String {
    let machine = &report.machine;
    let versions = &report.versions;
    let mut out = String::new();
    let mut flags = String::new();
    if let Some(runs) = report.runs {
        let _ = write!(flags, " --runs {runs}");
    }
    if let Some(load) = report.max_load {
        let _ = write!(flags, " --max-load {load}");
    }
    let _ = write!(
        out,
        "Measured by `cargo xtask bench{flags}` on {}, in {}.",
        report.started_at,
        minutes(report.elapsed.as_secs_f64()),
    );
    if let Some(load) = report.max_load {
        let _ = write!(
            out,
            " Each measure started once the 1-minute load average was below {load} (or after 15 minutes of waiting); the load at its start is given with its details."
        );
    }
    out.push_str("\n\n");
    out.push_str("### Machine and versions\n\n| | |\n|---|---|\n");
    let _ = writeln!(
        out,
        "| CPU | {}, {} cores |",
        machine.cpu.as_deref().unwrap_or("unknown"),
        machine.cores
    );
    let _ = writeln!(
        out,
        "| memory | {} |",
        machine
            .memory_gib
            .map_or_else(|| "unknown".to_owned(), |gib| format!("{gib:.1} GiB"))
    );
    let _ = writeln!(out, "| OS | {} |", machine.os);
    let _ = writeln!(
        out,
        "| load average at start | {} |",
        load(machine.load_at_start)
    );
    let _ = writeln!(
        out,
        "| load average at end | {} |",
        load(report.load_at_end)
    );
    let _ = writeln!(
        out,
        "| xtask | commit {}, {} profile, run prebuilt (no cargo in the timing) |",
        versions.commit.as_deref().unwrap_or("unknown"),
        versions.xtask_profile
    );
    for (name, version) in [
        ("just", &versions.just),
        ("bun", &versions.bun),
        ("sha256sum", &versions.sha256sum),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {} |",
            version.as_deref().unwrap_or("not on PATH")
        );
    }
    out.push_str("\n### The table of issue 11\n\n");
    out.push_str("| measure | baseline | runs | median (min–max) | baseline median (min–max) | ratio | goal | result |\n|---|---|---|---|---|---|---|---|\n");
    for result in &report.results {
        for row in &result.rows {
            out.push_str(&row_cells(row));
            out.push('\n');
        }
    }
    out.push_str("\nThe ratio is the measure's median over its baseline's: below 1 the measure takes less time. Each side ran the same number of times, interleaved (A B, B A, ...) so that drift on the machine falls on both alike.\n");
    out.push_str("\n### Details\n");
    for result in &report.results {
        let _ = write!(out, "\n#### {}", result.measure.name());
        if let Some(load) = result.load_before {
            let _ = write!(out, " (load average {load:.2} at its start)");
        }
        let _ = write!(out, "\n\n{}", result.details);
    }
    out
}

fn minutes(seconds_total: f64) -> String {
    if seconds_total < 60.0 {
        return seconds(seconds_total);
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = seconds_total.round() as u64;
    format!("{} min {} s", whole / 60, whole % 60)
}

/// The document `--write` fills in: what stays before and after the generated section.
#[derive(Debug)]
pub struct Document {
    path: PathBuf,
    before: String,
    after: String,
}

impl Document {
    /// Checks, before anything is measured, that the report can be written to `path`: its
    /// directory exists and takes new files, and an existing file has both markers.
    pub fn open(path: &Path) -> Result<Document> {
        let dir = directory_of(path);
        if !dir.is_dir() {
            bail!(
                "cannot write the bench report to `{}`: directory `{}` does not exist; create it or pass another `--write` path",
                path.display(),
                dir.display()
            );
        }
        tempfile::NamedTempFile::new_in(&dir).wrap_err_with(|| {
            format!(
                "cannot write the bench report to `{}`: directory `{}` does not take new files; pass another `--write` path",
                path.display(),
                dir.display()
            )
        })?;
        if path.is_dir() {
            bail!(
                "cannot write the bench report to `{}`: it is a directory; pass a file path to `--write`",
                path.display()
            );
        }
        if !path.exists() {
            return Ok(Document {
                path: path.to_owned(),
                before: "# Performance\n\n".to_owned(),
                after: String::new(),
            });
        }
        let text = std::fs::read_to_string(path)
            .wrap_err_with(|| format!("cannot read `{}`", path.display()))?;
        let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
            bail!(
                "`{}` has no bench markers; add the lines `{BEGIN}` and `{END}` where the generated report goes, or pass a new file to `--write`",
                path.display()
            );
        };
        if end < begin {
            bail!(
                "`{}` has its bench end marker before its begin marker; put `{BEGIN}` first",
                path.display()
            );
        }
        Ok(Document {
            path: path.to_owned(),
            before: text[..begin].to_owned(),
            after: text[end + END.len()..].to_owned(),
        })
    }

    /// The document with `section` between the markers.
    pub fn contents(&self, section: &str) -> String {
        let mut section = section.to_owned();
        if !section.ends_with('\n') {
            section.push('\n');
        }
        let after = if self.after.is_empty() {
            "\n"
        } else {
            &self.after
        };
        format!("{}{BEGIN}\n{section}{END}{after}", self.before)
    }

    /// Writes the document whole (a temporary file renamed over it) or not at all.
    pub fn write(&self, section: &str) -> Result<()> {
        let dir = directory_of(&self.path);
        let mut file = tempfile::NamedTempFile::new_in(&dir)
            .wrap_err_with(|| format!("cannot create a file in `{}`", dir.display()))?;
        file.write_all(self.contents(section).as_bytes())
            .and_then(|()| file.flush())
            .wrap_err_with(|| format!("cannot write `{}`", file.path().display()))?;
        file.persist(&self.path)
            .wrap_err_with(|| format!("cannot write `{}`", self.path.display()))?;
        Ok(())
    }
}

fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::{
        Goal, Measure, MeasureResult, Row,
        machine::{Machine, Versions},
        stats::Stats,
    };

    fn report() -> Report {
        let stats = |samples: &[f64]| Stats::new(samples.iter().copied()).unwrap();
        Report {
            started_at: "2026-01-02T03:04:05Z".to_owned(),
            elapsed: Duration::from_secs(545),
            machine: Machine {
                cores: 2,
                cpu: Some("AMD EPYC".to_owned()),
                memory_gib: Some(23.54),
                os: "Linux 6.18.44".to_owned(),
                load_at_start: Some([0.42, 0.9, 1.5]),
            },
            versions: Versions {
                commit: Some("0123456789ab".to_owned()),
                xtask_profile: "dev",
                just: Some("1.59.0 (/usr/bin/just)".to_owned()),
                bun: Some("1.4.5 (/usr/bin/bun)".to_owned()),
                sha256sum: None,
            },
            runs: Some(3),
            max_load: Some(1.5),
            results: vec![
                MeasureResult {
                    measure: Measure::Test,
                    rows: vec![Row {
                        name: "`cargo xtask test --runner local`".to_owned(),
                        baseline_name: Some("`just test`".to_owned()),
                        candidate: stats(&[0.530, 0.512, 0.601]),
                        baseline: stats(&[0.5, 0.49, 0.52]).into(),
                        goals: vec![
                            Goal::RatioAtMost(1.05),
                            Goal::AddsUnder(Duration::from_millis(50)),
                        ],
                    }],
                    details: "The xtask adds +30 ms.\n".to_owned(),
                    load_before: Some(0.42),
                },
                MeasureResult {
                    measure: Measure::Build,
                    rows: vec![Row {
                        name: "`build --all-targets` with validation".to_owned(),
                        baseline_name: Some("`--jobs 1`".to_owned()),
                        candidate: stats(&[8.0, 8.5, 7.9]),
                        baseline: Some(stats(&[9.0, 9.5, 9.1])),
                        goals: Vec::new(),
                    }],
                    details: "Validation is the same on both sides.\n".to_owned(),
                    load_before: None,
                },
                MeasureResult {
                    measure: Measure::Plan,
                    rows: vec![Row {
                        name: "plan of 500 recipes".to_owned(),
                        baseline_name: None,
                        candidate: stats(&[0.0412, 0.0398, 0.0405]),
                        baseline: None,
                        goals: vec![
                            Goal::Under(Duration::from_millis(200)),
                            Goal::GrowthAtMost {
                                limit: 1.2,
                                exponent: None,
                            },
                        ],
                    }],
                    details: "| recipes | time |\n|---|---|\n| 500 | 40 ms |\n".to_owned(),
                    load_before: Some(1.1),
                },
            ],
            load_at_end: Some([1.0, 1.1, 1.2]),
        }
    }

    #[test]
    fn the_report_is_markdown_with_the_issue_table() {
        insta::assert_snapshot!(render(&report()));
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(seconds(0.000_85), "850 µs");
        assert_eq!(seconds(0.004_2), "4.2 ms");
        assert_eq!(seconds(0.412), "412 ms");
        assert_eq!(seconds(1.234), "1.23 s");
        assert_eq!(seconds(38.64), "38.6 s");
        assert_eq!(signed_seconds(0.021), "+21 ms");
        assert_eq!(signed_seconds(-0.003), "−3.0 ms");
        assert_eq!(minutes(545.0), "9 min 5 s");
    }

    #[test]
    fn the_section_replaces_what_is_between_the_markers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("performance.md");
        std::fs::write(
            &path,
            format!(
                "# Performance\n\nProse before.\n\n{BEGIN}\nold numbers\n{END}\n\nProse after.\n"
            ),
        )
        .unwrap();
        let document = Document::open(&path).unwrap();
        document.write("new numbers\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!(
                "# Performance\n\nProse before.\n\n{BEGIN}\nnew numbers\n{END}\n\nProse after.\n"
            )
        );
        let new = dir.path().join("new.md");
        Document::open(&new).unwrap().write("numbers").unwrap();
        assert_eq!(
            std::fs::read_to_string(&new).unwrap(),
            format!("# Performance\n\n{BEGIN}\nnumbers\n{END}\n")
        );
    }

    #[test]
    fn a_document_that_cannot_take_the_report_is_refused_before_measuring() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("performance.md");
        let error = Document::open(&missing).unwrap_err().to_string();
        assert!(error.contains("does not exist"), "{error}");
        let unmarked = dir.path().join("unmarked.md");
        std::fs::write(&unmarked, "# Notes\n").unwrap();
        let error = Document::open(&unmarked).unwrap_err().to_string();
        assert!(error.contains("has no bench markers"), "{error}");
        let error = Document::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("it is a directory"), "{error}");
        assert_eq!(std::fs::read_to_string(&unmarked).unwrap(), "# Notes\n");
    }
}
