//! Parity hashing against coreutils `sha256sum`: the manifest code ([`manifest::scan`]) on one
//! and on two threads over the same generated files (200 files of 5 MiB, ~1 GB, by default), in
//! the page cache, so that it is hashing and not the disk that is measured. Shared by
//! `cargo xtask bench` and `cargo bench -p xtask --bench hash`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use tracing::info;
use xshell::{Shell, cmd};

use super::{
    Goal, Measure, MeasureResult, Row,
    sample::{children_cpu_seconds, interleave, log_sample, own_cpu_seconds},
    stats::Stats,
};
use crate::{
    parity::manifest::{self, EntryKind},
    tools::which,
};

/// How much to hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashOptions {
    pub files: usize,
    pub size_mib: usize,
}

impl Default for HashOptions {
    fn default() -> HashOptions {
        HashOptions {
            files: 200,
            size_mib: 5,
        }
    }
}

impl HashOptions {
    pub fn bytes(&self) -> u64 {
        (self.files * self.size_mib * 1024 * 1024) as u64
    }
}

/// The ways of hashing that are compared, in the order of the report.
const METHODS: [&str; 3] = ["manifest, 1 thread", "manifest, 2 threads", "sha256sum"];
const SHA256SUM: usize = 2;

/// One method's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodResult {
    pub name: &'static str,
    pub wall: Stats,
    /// CPU seconds per run: this process's for the manifest code, `sha256sum`'s for it.
    pub cpu: Option<Stats>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HashResult {
    pub options: HashOptions,
    pub generated_in: Duration,
    pub sha_extensions: &'static str,
    pub methods: Vec<MethodResult>,
}

/// Generates the files, checks that every method agrees on every digest (untimed; this also
/// fills the page cache), then times each method `rounds` times, interleaved.
pub fn measure(options: &HashOptions, rounds: usize) -> Result<HashResult> {
    if which("sha256sum").is_none() {
        bail!(
            "`sha256sum` is not on PATH, and it is the baseline of the hashing bench; install coreutils"
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("xtask-bench-hash-")
        .tempdir()
        .wrap_err("cannot create a directory for the files to hash")?;
    let started = Instant::now();
    let files = generate(dir.path(), options)?;
    let generated_in = started.elapsed();
    info!(
        n_files = options.files,
        size_mib = options.size_mib,
        seconds = format_args!("{:.1}", generated_in.as_secs_f64()),
        "generated the files to hash"
    );

    let reference = ours(dir.path(), 1)?;
    if ours(dir.path(), 2)? != reference {
        bail!("two threads hash differently from one");
    }
    if sha256sum(dir.path(), &files)? != reference {
        bail!("the manifest code and sha256sum disagree on a digest");
    }

    let samples = interleave(METHODS.len(), rounds, |method, round| {
        let own_before = own_cpu_seconds();
        let children_before = children_cpu_seconds();
        let started = Instant::now();
        match method {
            0 => drop(ours(dir.path(), 1)?),
            1 => drop(ours(dir.path(), 2)?),
            _ => drop(sha256sum(dir.path(), &files)?),
        }
        let wall = started.elapsed();
        log_sample("hash", METHODS[method], round, rounds, wall);
        let cpu = if method == SHA256SUM {
            children_before
                .zip(children_cpu_seconds())
                .map(|(before, after)| after - before)
        } else {
            own_before
                .zip(own_cpu_seconds())
                .map(|(before, after)| after - before)
        };
        Ok((wall, cpu))
    })?;
    let methods = METHODS
        .iter()
        .zip(samples)
        .map(|(name, samples)| {
            let walls: Vec<Duration> = samples.iter().map(|(wall, _)| *wall).collect();
            let cpu: Option<Vec<f64>> = samples.iter().map(|(_, cpu)| *cpu).collect();
            MethodResult {
                name,
                wall: Stats::of_durations(&walls).expect("at least one round"),
                cpu: cpu.and_then(Stats::new),
            }
        })
        .collect();
    Ok(HashResult {
        options: *options,
        generated_in,
        sha_extensions: sha_extensions(),
        methods,
    })
}

impl HashResult {
    fn baseline(&self) -> &MethodResult {
        &self.methods[SHA256SUM]
    }

    /// A plain-text table for `cargo bench`: median, spread, throughput, speed-up over
    /// `sha256sum`, and CPU time.
    #[allow(clippy::cast_precision_loss)]
    pub fn text_table(&self) -> String {
        let bytes = self.options.bytes() as f64;
        let baseline = self.baseline();
        let mut out = format!(
            "{} files of {} MiB ({:.2} GB) generated in {:.1}s; {}\n",
            self.options.files,
            self.options.size_mib,
            bytes / 1e9,
            self.generated_in.as_secs_f64(),
            self.sha_extensions,
        );
        let _ = writeln!(
            out,
            "{:<20} {:>9} {:>17} {:>9} {:>14} {:>9} {:>14}",
            "method", "median", "spread", "MB/s", "vs sha256sum", "CPU", "CPU vs"
        );
        for method in &self.methods {
            let median = method.wall.median();
            let (cpu, cpu_ratio) = match (&method.cpu, &baseline.cpu) {
                (Some(used), Some(base)) if used.median() > 0.0 => (
                    format!("{:.2}s", used.median()),
                    format!("{:.2}x", base.median() / used.median()),
                ),
                _ => ("-".to_owned(), "-".to_owned()),
            };
            let _ = writeln!(
                out,
                "{:<20} {median:>8.3}s {:>7.3}s–{:.3}s {:>9.0} {:>14} {cpu:>9} {cpu_ratio:>14}",
                method.name,
                method.wall.min(),
                method.wall.max(),
                bytes / median / 1e6,
                format!("{:.2}x", baseline.wall.median() / median),
            );
        }
        let _ = writeln!(out, "{} rounds", self.baseline().wall.runs());
        out
    }

    /// The bench's rows: each thread count against `sha256sum`, with the goals.
    #[allow(clippy::cast_precision_loss)]
    pub fn into_measure(self) -> MeasureResult {
        let baseline = self.baseline().clone();
        let bytes = self.options.bytes() as f64;
        let mut details = format!(
            "{} files of {} MiB ({:.2} GB), generated (pseudo-random bytes, distinct in every MiB) and read once so they are in the page cache; every digest checked equal across the methods before timing; {}. CPU time is this process's for the manifest code and `sha256sum`'s own for it.\n\n",
            self.options.files,
            self.options.size_mib,
            bytes / 1e9,
            self.sha_extensions,
        );
        details
            .push_str("| method | median | throughput | CPU time (median) |\n|---|---|---|---|\n");
        for method in &self.methods {
            let _ = writeln!(
                details,
                "| {} | {} | {:.0} MB/s | {} |",
                method.name,
                super::report::seconds(method.wall.median()),
                bytes / method.wall.median() / 1e6,
                method.cpu.as_ref().map_or_else(
                    || "-".to_owned(),
                    |cpu| super::report::seconds(cpu.median())
                ),
            );
        }
        let rows = self.methods[..SHA256SUM]
            .iter()
            .zip([1.0, 1.6])
            .map(|(method, speedup)| Row {
                name: format!(
                    "parity hashing of ~1 GB of generated files: {}",
                    method.name
                ),
                baseline_name: Some("`sha256sum`".to_owned()),
                candidate: method.wall.clone(),
                baseline: Some(baseline.wall.clone()),
                goals: vec![Goal::SpeedupAtLeast(speedup)],
            })
            .collect();
        MeasureResult::new(Measure::Hash, rows, details)
    }
}

/// Deterministic, incompressible bytes, different in every MiB of every file: one MiB of
/// xorshift64* output, generated once, with the file and block numbers written over its first
/// bytes. (SHA-256 costs the same for any bytes; generating fresh ones for every MiB took half
/// a minute in the unoptimised dev build.)
fn generate(dir: &Path, options: &HashOptions) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    let mut block = vec![0u8; 1024 * 1024];
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for chunk in block.chunks_exact_mut(8) {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        chunk.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    for index in 0..options.files {
        let path = dir.join(format!("file-{index:04}.bin"));
        let file = std::fs::File::create(&path)
            .wrap_err_with(|| format!("cannot create `{}`", path.display()))?;
        let mut file = std::io::BufWriter::new(file);
        for part in 0..options.size_mib {
            block[..8].copy_from_slice(&(index as u64).to_le_bytes());
            block[8..16].copy_from_slice(&(part as u64).to_le_bytes());
            file.write_all(&block)
                .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
        }
        file.flush()
            .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

/// File name to digest, by the manifest code on `threads` threads.
fn ours(dir: &Path, threads: usize) -> Result<BTreeMap<String, String>> {
    Ok(manifest::scan(dir, threads)?
        .into_iter()
        .filter_map(|entry| match entry.kind {
            EntryKind::File(file) => Some((entry.path, file.sha256)),
            EntryKind::Symlink(_) => None,
        })
        .collect())
}

/// File name to digest, by `sha256sum`.
fn sha256sum(dir: &Path, files: &[PathBuf]) -> Result<BTreeMap<String, String>> {
    let sh = Shell::new()?;
    sh.change_dir(dir);
    let names: Vec<String> = files
        .iter()
        .filter_map(|path| path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let output = cmd!(sh, "sha256sum -- {names...}")
        .quiet()
        .read()
        .wrap_err("cannot run `sha256sum`")?;
    Ok(output
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(digest, name)| (name.to_owned(), digest.to_owned()))
        .collect())
}

/// Whether sha2 can use the CPU's SHA instructions here.
pub fn sha_extensions() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sha") {
            "SHA-NI: yes"
        } else {
            "SHA-NI: no (portable code)"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("sha2") {
            "ARMv8 SHA2: yes"
        } else {
            "ARMv8 SHA2: no (portable code)"
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "portable code"
    }
}
