//! How fast manifests hash: the manifest code on one and on two threads against coreutils
//! `sha256sum` over the same generated files (200 files of 5 MiB, ~1 GB, by default), in the
//! page cache, so that it is hashing and not the disk that is measured.
//!
//! ```text
//! cargo bench -p xtask --bench hash                     # release build
//! cargo bench -p xtask --bench hash --profile dev       # as `cargo xtask` is built
//! cargo bench -p xtask --bench hash -- --files 50 --size-mib 20 --rounds 7
//! ```
//!
//! Each round runs every method once, in a rotating order so that a busy machine slows them
//! alike; the table gives the median wall time, the spread (fastest–slowest), the throughput
//! and the ratio of `sha256sum`'s median to each method's median (above 1: faster than
//! `sha256sum`). On Linux it also gives the median CPU time each method used (this process's,
//! or `sha256sum`'s), which other load on the machine disturbs far less than wall time.

use std::{
    collections::BTreeMap,
    io::Write as _,
    path::{Path, PathBuf},
    time::Instant,
};

use color_eyre::{
    Result,
    eyre::{bail, eyre},
};
use xshell::{Shell, cmd};
use xtask::parity::manifest::{self, EntryKind};

struct Options {
    files: usize,
    size_mib: usize,
    rounds: usize,
}

fn options() -> Result<Options> {
    let mut options = Options {
        files: 200,
        size_mib: 5,
        rounds: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> Result<usize> {
            args.next()
                .and_then(|value| value.parse().ok())
                .filter(|&value| value > 0)
                .ok_or_else(|| eyre!("`{name}` takes a positive number"))
        };
        match arg.as_str() {
            "--files" => options.files = value("--files")?,
            "--size-mib" => options.size_mib = value("--size-mib")?,
            "--rounds" => options.rounds = value("--rounds")?,
            // cargo bench passes `--bench`; libtest filters mean nothing here.
            _ => {}
        }
    }
    Ok(options)
}

/// Deterministic, incompressible bytes: xorshift64*, seeded per file.
fn generate(dir: &Path, options: &Options) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    let mut block = vec![0u8; 1024 * 1024];
    for index in 0..options.files {
        let path = dir.join(format!("file-{index:04}.bin"));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (index as u64 + 1);
        for _ in 0..options.size_mib {
            for chunk in block.chunks_exact_mut(8) {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                chunk.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
            }
            file.write_all(&block)?;
        }
        file.flush()?;
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
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let output = cmd!(sh, "sha256sum -- {names...}").quiet().read()?;
    Ok(output
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(digest, name)| (name.to_owned(), digest.to_owned()))
        .collect())
}

fn sha_extensions() -> &'static str {
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

/// CPU seconds (user and system) used so far by this process, and by its waited-for
/// children; Linux only.
fn cpu_seconds() -> Option<(f64, f64)> {
    static TICKS: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
    let ticks = (*TICKS.get_or_init(|| {
        let sh = Shell::new().ok()?;
        cmd!(sh, "getconf CLK_TCK")
            .quiet()
            .read()
            .ok()?
            .trim()
            .parse()
            .ok()
    }))?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may hold spaces: state is field 3,
    // utime, stime, cutime and cstime are fields 14 to 17.
    let fields: Vec<f64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    let [utime, stime, cutime, cstime] = fields[..] else {
        return None;
    };
    Some(((utime + stime) / ticks, (cutime + cstime) / ticks))
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[middle]
    } else {
        f64::midpoint(samples[middle - 1], samples[middle])
    }
}

#[allow(clippy::cast_precision_loss)]
fn main() -> Result<()> {
    let options = options()?;
    let has_sha256sum = xtask::tools::which("sha256sum").is_some();
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let files = generate(dir.path(), &options)?;
    let bytes = (options.files * options.size_mib * 1024 * 1024) as f64;
    println!(
        "{} files of {} MiB ({:.2} GB) generated in {:.1}s; {}; {} CPUs",
        options.files,
        options.size_mib,
        bytes / 1e9,
        started.elapsed().as_secs_f64(),
        sha_extensions(),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
    );

    // Untimed: fills the page cache, and checks that every method agrees on every digest.
    let reference = ours(dir.path(), 1)?;
    if ours(dir.path(), 2)? != reference {
        bail!("two threads hash differently from one");
    }
    if has_sha256sum && sha256sum(dir.path(), &files)? != reference {
        bail!("the manifest code and sha256sum disagree on a digest");
    }

    let mut methods: Vec<&str> = vec!["manifest, 1 thread", "manifest, 2 threads"];
    if has_sha256sum {
        methods.push("sha256sum");
    }
    let mut samples: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut cpu: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..options.rounds {
        for offset in 0..methods.len() {
            let method = methods[(round + offset) % methods.len()];
            let cpu_before = cpu_seconds();
            let started = Instant::now();
            match method {
                "sha256sum" => drop(sha256sum(dir.path(), &files)?),
                "manifest, 2 threads" => drop(ours(dir.path(), 2)?),
                _ => drop(ours(dir.path(), 1)?),
            }
            samples
                .entry(method)
                .or_default()
                .push(started.elapsed().as_secs_f64());
            if let (Some(before), Some(after)) = (cpu_before, cpu_seconds()) {
                let used = if method == "sha256sum" {
                    after.1 - before.1
                } else {
                    after.0 - before.0
                };
                cpu.entry(method).or_default().push(used);
            }
        }
    }

    let medians: BTreeMap<&str, f64> = samples
        .iter_mut()
        .map(|(method, samples)| (*method, median(samples)))
        .collect();
    let cpu_medians: BTreeMap<&str, f64> = cpu
        .iter_mut()
        .map(|(method, samples)| (*method, median(samples)))
        .collect();
    println!(
        "{:<20} {:>9} {:>17} {:>9} {:>14} {:>9} {:>14}",
        "method", "median", "spread", "MB/s", "vs sha256sum", "CPU", "CPU vs"
    );
    for method in &methods {
        let runs = &samples[method];
        let median = medians[method];
        let ratio = medians.get("sha256sum").map_or_else(
            || "-".to_owned(),
            |baseline| format!("{:.2}x", baseline / median),
        );
        let (cpu_median, cpu_ratio) = match (cpu_medians.get(method), cpu_medians.get("sha256sum"))
        {
            (Some(used), Some(baseline)) => {
                (format!("{used:.2}s"), format!("{:.2}x", baseline / used))
            }
            _ => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "{method:<20} {median:>8.3}s {:>7.3}s–{:.3}s {:>9.0} {ratio:>14} {cpu_median:>9} {cpu_ratio:>14}",
            runs[0],
            runs[runs.len() - 1],
            bytes / median / 1e6,
        );
    }
    println!("{} rounds", options.rounds);
    Ok(())
}
