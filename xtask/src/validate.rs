//! Validation of release binaries: each one hashed, its header checked against its target,
//! and smoke-run where this machine can start it; the results as a table.

use std::{fmt::Write as _, path::PathBuf, sync::Arc};

use color_eyre::{
    Result,
    eyre::{WrapErr, eyre},
};
use tracing::{info, info_span};

use crate::{
    digest,
    header::{Header, HeaderError},
    smoke::{self, Host, SmokeOutcome, SmokeSpec},
    target::Target,
};

/// A binary a build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    pub target: Target,
    /// Absolute.
    pub path: PathBuf,
    /// As shown to the user: relative to the project, with `/` (`dist/taskmd-linux-x64`).
    pub shown: String,
}

/// Everything validation found out about one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub binary: Binary,
    pub size: u64,
    pub sha256: String,
    /// What the header says, when it could be read.
    pub header: Option<Header>,
    /// Why the header is wrong for the target, or unreadable.
    pub header_error: Option<HeaderError>,
    pub smoke: SmokeOutcome,
}

impl Validation {
    pub fn passed(&self) -> bool {
        self.header_error.is_none() && !self.smoke.failed()
    }

    /// What went wrong, one sentence per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(error) = &self.header_error {
            problems.push(error.to_string());
        }
        if let SmokeOutcome::Failed { via, reason } = &self.smoke {
            problems.push(format!(
                "smoke run of `{}` ({via}) failed: {reason}",
                self.binary.shown
            ));
        }
        problems
    }
}

/// Validates every binary at once: hashes and headers on blocking threads, smoke runs
/// concurrently. `spec` is the smoke run's checks, or why there can be none.
pub fn validate(
    binaries: Vec<Binary>,
    spec: Result<SmokeSpec, String>,
    host: Host,
    root: PathBuf,
) -> Result<Vec<Validation>> {
    let _span = info_span!("validate", n_binaries = binaries.len()).entered();
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Runtime::new().wrap_err("cannot start the async runtime")?;
    let spec = Arc::new(spec);
    let host = Arc::new(host);
    let root = Arc::new(root);
    runtime.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, binary) in binaries.into_iter().enumerate() {
            let (spec, host, root) = (Arc::clone(&spec), Arc::clone(&host), Arc::clone(&root));
            tasks.spawn(async move {
                let validation = validate_one(binary, &spec, &host, &root).await;
                (index, validation)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (index, validation) =
                joined.map_err(|error| eyre!("a validation task failed: {error}"))?;
            results.push((index, validation?));
        }
        results.sort_by_key(|(index, _)| *index);
        info!(
            duration_ms = started.elapsed().as_millis(),
            "validated every binary"
        );
        Ok(results
            .into_iter()
            .map(|(_, validation)| validation)
            .collect())
    })
}

async fn validate_one(
    binary: Binary,
    spec: &Result<SmokeSpec, String>,
    host: &Host,
    root: &std::path::Path,
) -> Result<Validation> {
    let path = binary.path.clone();
    let (digest, header) = tokio::task::spawn_blocking(move || {
        let digest = digest::sha256_file(&path);
        (digest, Header::read(&path))
    })
    .await
    .map_err(|error| eyre!("hashing `{}` failed: {error}", binary.shown))?;
    let (sha256, size) = digest.wrap_err_with(|| format!("cannot read `{}`", binary.shown))?;
    let shown = std::path::Path::new(&binary.shown);
    let (header, header_error) = match header {
        Ok(header) => {
            let error = header.check(shown, &binary.target).err();
            (Some(header), error)
        }
        Err(error) => (None, Some(error)),
    };
    let smoke = match (&header, &header_error, spec) {
        (_, Some(_), _) | (None, _, _) => SmokeOutcome::NotRun {
            reason: "the header check failed".to_owned(),
        },
        (_, _, Err(reason)) => SmokeOutcome::NotRun {
            reason: reason.clone(),
        },
        (Some(header), None, Ok(spec)) => match host.launcher(&binary.target, header) {
            Ok(launcher) => smoke::run(spec, &launcher, &binary.path, root).await,
            Err(reason) => SmokeOutcome::NotRun { reason },
        },
    };
    info!(target = %binary.target, file = %binary.shown, size, header = %header.as_ref().map(ToString::to_string).unwrap_or_default(), smoke = %smoke, "validated");
    Ok(Validation {
        binary,
        size,
        sha256,
        header,
        header_error,
        smoke,
    })
}

/// The validation table: one row per binary.
pub fn table(validations: &[Validation]) -> String {
    let rows: Vec<[String; 5]> = validations
        .iter()
        .map(|validation| {
            let header = match (&validation.header, &validation.header_error) {
                (Some(header), None) => header.to_string(),
                (Some(header), Some(_)) => format!(
                    "{header} (expected {})",
                    crate::header::Expected::of(&validation.binary.target)
                ),
                (None, _) => "not an executable".to_owned(),
            };
            [
                validation.binary.target.name.clone(),
                validation.binary.shown.clone(),
                human_size(validation.size),
                header,
                validation.smoke.to_string(),
            ]
        })
        .collect();
    let titles = ["target", "file", "size", "header", "smoke"].map(str::to_owned);
    let mut widths = titles.clone().map(|title| title.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&titles).chain(&rows) {
        let mut line = String::new();
        for (column, (cell, width)) in row.iter().zip(widths).enumerate() {
            if column == 2 {
                let _ = write!(line, "{cell:>width$}  ");
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `104.2 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::fixtures;

    fn binary(dir: &std::path::Path, target: &str, bytes: &[u8]) -> Binary {
        let name = format!("taskmd-{target}");
        let path = dir.join(&name);
        std::fs::write(&path, bytes).unwrap();
        Binary {
            target: Target::parse(target).unwrap(),
            path,
            shown: format!("dist/{name}"),
        }
    }

    fn no_host() -> Host {
        Host {
            os: Some(crate::target::Os::Linux),
            arch: Some(crate::target::Arch::X64),
            find_program: Box::new(|_| None),
            exists: Box::new(|_| false),
            qemu_ld_prefix: None,
        }
    }

    #[test]
    fn a_wrong_header_fails_and_is_not_smoke_run() {
        let dir = tempfile::tempdir().unwrap();
        let binaries = vec![
            binary(
                dir.path(),
                "linux-x64",
                &fixtures::elf(fixtures::ELF_AARCH64, None),
            ),
            binary(
                dir.path(),
                "darwin-arm64",
                &fixtures::mach_o(fixtures::MACHO_ARM64, true),
            ),
        ];
        let validations = validate(
            binaries,
            Err("no fixtures".to_owned()),
            no_host(),
            dir.path().to_owned(),
        )
        .unwrap();
        assert!(!validations[0].passed());
        assert_eq!(
            validations[0].problems(),
            [
                "`dist/taskmd-linux-x64` is ELF AArch64, but target `linux-x64` needs ELF x86-64; the build produced a binary for another platform"
            ]
        );
        assert_eq!(
            validations[0].smoke,
            SmokeOutcome::NotRun {
                reason: "the header check failed".to_owned()
            }
        );
        assert!(validations[1].passed());
        assert_eq!(
            validations[1].smoke,
            SmokeOutcome::NotRun {
                reason: "no fixtures".to_owned()
            }
        );
        assert_eq!(
            table(&validations),
            concat!(
                "target        file                      size  header                             smoke\n",
                "linux-x64     dist/taskmd-linux-x64     64 B  ELF AArch64 (expected ELF x86-64)  not run (the header check failed)\n",
                "darwin-arm64  dist/taskmd-darwin-arm64  60 B  Mach-O arm64                       not run (no fixtures)\n",
            )
        );
    }

    #[test]
    fn sizes_read_like_ls_h() {
        assert_eq!(human_size(64), "64 B");
        assert_eq!(human_size(109_222_064), "104.2 MiB");
        assert_eq!(human_size(2048), "2.0 KiB");
    }
}
