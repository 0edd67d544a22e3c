//! The machine a bench ran on and the versions it measured, for the report: numbers mean
//! little without them.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde::Serialize;
use tracing::info;
use xshell::{Shell, cmd};

use crate::{git::Git, just::version_in, tools::which};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: Option<String>,
    pub memory_gib: Option<f64>,
    pub os: String,
    /// The 1-, 5- and 15-minute load averages when the bench started.
    pub load_at_start: Option<[f64; 3]>,
}

impl Machine {
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os = Shell::new()
            .ok()
            .and_then(|sh| cmd!(sh, "uname -sr").quiet().ignore_stderr().read().ok())
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        Machine {
            cores: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            cpu: cpu_model(&cpuinfo),
            memory_gib: memory_gib(&meminfo),
            os,
            load_at_start: load_average(),
        }
    }
}

/// The first `model name` of `/proc/cpuinfo`, with the SHA extensions hashing depends on.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))?
        .trim_start_matches([' ', '\t', ':'])
        .trim();
    Some(model.to_owned())
}

#[allow(clippy::cast_precision_loss)]
fn memory_gib(meminfo: &str) -> Option<f64> {
    let kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib as f64 / 1024.0 / 1024.0)
}

/// The 1-, 5- and 15-minute load averages; Linux only.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_load_average(&text)
}

fn parse_load_average(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}

/// Waits until the 1-minute load average is below `max`, for at most `patience`; the load
/// it measured at the end, and whether it was low enough. Without a load average (not Linux)
/// it does not wait.
pub fn wait_for_load(max: f64, patience: Duration) -> (Option<f64>, bool) {
    let started = Instant::now();
    let mut said = false;
    loop {
        let Some([load, _, _]) = load_average() else {
            return (None, true);
        };
        if load < max {
            return (Some(load), true);
        }
        if started.elapsed() >= patience {
            return (Some(load), false);
        }
        if !said {
            info!(load, max, "waiting for the machine to quieten down");
            said = true;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// What was measured: the versions of everything on either side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// The commit of the project, with `-dirty` when its files differ from it.
    pub commit: Option<String>,
    /// The xtask build that ran: `dev` or `release`.
    pub xtask_profile: &'static str,
    /// `just` as a user types it (from `PATH`), and where that is.
    pub just: Option<String>,
    pub bun: Option<String>,
    pub sha256sum: Option<String>,
}

impl Versions {
    pub fn detect(project_root: &Path) -> Versions {
        let git = Git::of(project_root);
        let commit = git.commit.map(|commit| {
            let short: String = commit.chars().take(12).collect();
            if git.dirty == Some(true) {
                format!("{short}-dirty")
            } else {
                short
            }
        });
        Versions {
            commit,
            xtask_profile: if cfg!(debug_assertions) {
                "dev"
            } else {
                "release"
            },
            just: version_of("just"),
            bun: version_of("bun"),
            sha256sum: version_of("sha256sum"),
        }
    }
}

/// `name --version` of the `name` on `PATH`: `1.59.0 (/usr/bin/just)`.
fn version_of(name: &str) -> Option<String> {
    let program = which(name)?;
    let sh = Shell::new().ok()?;
    let output = cmd!(sh, "{program} --version")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    let first = output.lines().next().unwrap_or_default();
    // `sha256sum (GNU coreutils) 9.1`: the version is the last word.
    let version = if name == "sha256sum" {
        first.rsplit(' ').next().map(str::to_owned)
    } else {
        version_in(first, name)
    }?;
    Some(format!("{version} ({})", program.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cpu_memory_and_load_of_linux() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: sha_ni\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model(""), None);
        let memory = memory_gib("MemTotal:       24683656 kB\nMemFree: 1 kB\n").unwrap();
        assert!((memory - 23.54).abs() < 0.01, "{memory}");
        assert_eq!(
            parse_load_average("0.88 1.60 2.31 1/113 3318\n"),
            Some([0.88, 1.6, 2.31])
        );
        assert_eq!(parse_load_average("garbage"), None);
    }
}
