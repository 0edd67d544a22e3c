//! Taking samples: each side of a measure run the same number of times, interleaved, and one
//! run of a command timed from spawn to exit.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use tracing::info;
use xshell::{Cmd, Shell};

/// Runs every side `runs` times, in rounds: each round runs each side once, starting one side
/// later than the round before (A B, B A, A B, ...), so that drift on the machine (a neighbour's
/// build starting, caches warming) falls on both sides alike and neither always goes first.
/// `run(side, round)` returns one sample; the result holds each side's samples in side order.
pub fn interleave<T>(
    n_sides: usize,
    runs: usize,
    mut run: impl FnMut(usize, usize) -> Result<T>,
) -> Result<Vec<Vec<T>>> {
    let mut samples: Vec<Vec<T>> = (0..n_sides).map(|_| Vec::with_capacity(runs)).collect();
    for round in 0..runs {
        for offset in 0..n_sides {
            let side = (round + offset) % n_sides;
            samples[side].push(run(side, round)?);
        }
    }
    Ok(samples)
}

/// One timed run of a command: its wall time and the CPU time it and the processes it waited
/// for used (Linux; `None` elsewhere).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timed {
    pub wall: Duration,
    pub cpu: Option<f64>,
}

/// Runs `command` to its end with its output captured, timed from spawn to exit; an error
/// with the end of its output when it fails, since a failing run measures nothing.
pub fn timed(command: Cmd<'_>) -> Result<Timed> {
    let shown = command.to_string();
    let cpu_before = children_cpu_seconds();
    let started = Instant::now();
    let output = command
        .quiet()
        .ignore_status()
        .output()
        .wrap_err_with(|| format!("cannot run `{shown}`"))?;
    let wall = started.elapsed();
    let cpu = cpu_before
        .zip(children_cpu_seconds())
        .map(|(before, after)| after - before);
    if !output.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "`{shown}` failed ({}); a run that fails measures nothing, fix it first:\n{}",
            output.status,
            tail.join("\n")
        );
    }
    Ok(Timed { wall, cpu })
}

/// Environment variables that would change what a run does or costs: CI mode, GitHub's
/// summaries, exporting spans, log formats.
fn is_disturbing(name: &str) -> bool {
    matches!(
        name,
        "CI" | "GITHUB_ACTIONS"
            | "GITHUB_STEP_SUMMARY"
            | "RUST_LOG"
            | "RUST_BACKTRACE"
            | "XTASK_LOG_FORMAT"
            | "TRACEPARENT"
            | "TRACESTATE"
            | "DAGGER_CLOUD_TOKEN"
    ) || name.starts_with("OTEL_")
}

/// A shell in `dir` for the runs of a measure; both sides of a measure get the same one.
pub fn shell_in(dir: &Path) -> Result<Shell> {
    let sh = Shell::new()?;
    sh.change_dir(dir);
    sh.set_var("NO_COLOR", "1");
    Ok(sh)
}

/// `command` without the variables that would disturb it (see [`is_disturbing`]).
pub fn undisturbed(mut command: Cmd<'_>) -> Cmd<'_> {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_disturbing) {
            command = command.env_remove(name);
        }
    }
    command
}

/// CPU seconds (user and system) used by the processes this one has waited for, and theirs:
/// the `cutime` and `cstime` fields of `/proc/self/stat`. Linux only.
pub fn children_cpu_seconds() -> Option<f64> {
    process_cpu_seconds().map(|(_, children)| children)
}

/// CPU seconds used by this process itself. Linux only.
pub fn own_cpu_seconds() -> Option<f64> {
    process_cpu_seconds().map(|(own, _)| own)
}

/// This process's CPU seconds and its waited-for children's.
fn process_cpu_seconds() -> Option<(f64, f64)> {
    let ticks = clock_ticks()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may hold spaces: state is field 3;
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

/// Clock ticks per second, asked once.
fn clock_ticks() -> Option<f64> {
    static TICKS: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let sh = Shell::new().ok()?;
        xshell::cmd!(sh, "getconf CLK_TCK")
            .quiet()
            .read()
            .ok()?
            .trim()
            .parse()
            .ok()
    })
}

/// Logs one sample as it is taken, so a long bench shows progress.
pub fn log_sample(measure: &str, side: &str, round: usize, runs: usize, wall: Duration) {
    info!(
        measure,
        side,
        run = round + 1,
        of = runs,
        seconds = format_args!("{:.3}", wall.as_secs_f64()),
        "sample"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_take_turns_going_first() {
        let mut order = Vec::new();
        let samples = interleave(2, 3, |side, round| {
            order.push((round, side));
            Ok(side * 10 + round)
        })
        .unwrap();
        assert_eq!(order, [(0, 0), (0, 1), (1, 1), (1, 0), (2, 0), (2, 1)]);
        assert_eq!(samples, [vec![0, 1, 2], vec![10, 11, 12]]);
    }

    #[test]
    fn a_failing_run_stops_the_measure() {
        let error = interleave(2, 3, |side, round| {
            if round == 1 && side == 0 {
                bail!("side 0 failed");
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "side 0 failed");
    }

    #[test]
    fn only_what_changes_a_run_is_removed() {
        assert!(is_disturbing("CI"));
        assert!(is_disturbing("OTEL_EXPORTER_OTLP_ENDPOINT"));
        assert!(!is_disturbing("PATH"));
        assert!(!is_disturbing("HOME"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failing_command_is_an_error_with_its_output() {
        let sh = Shell::new().unwrap();
        let error = timed(xshell::cmd!(sh, "sh -c 'echo why it failed >&2; exit 3'"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a run that fails measures nothing"),
            "{error}"
        );
        assert!(error.contains("why it failed"), "{error}");
        let ok = timed(xshell::cmd!(sh, "true")).unwrap();
        assert!(ok.cpu.is_some());
    }
}
