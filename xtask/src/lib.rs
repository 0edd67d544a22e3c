//! The xtask of this workspace, in the style of
//! [cargo-xtask](https://github.com/matklad/cargo-xtask): the justfile holds every command;
//! `just <recipe>` runs it here, and `cargo xtask <command>` plans the same recipes as a DAG
//! and runs them with a runner.
//!
//! Data flows one way: justfile → [`justfile::Justfile`] → [`plan::Plan`] → runner →
//! [`runner::RunOutcome`] → report.

pub mod artifacts;
pub mod attribute;
pub mod bench;
mod commands;
pub mod dependency;
pub mod digest;
pub mod environment;
pub mod exit;
pub mod expression;
pub mod flags;
pub mod git;
pub mod header;
pub mod just;
pub mod justfile;
pub mod metadata;
pub mod parameter;
pub mod parity;
pub mod plan;
pub mod project;
pub mod recipe;
pub mod report;
pub mod run_report;
pub mod runner;
pub mod session;
pub mod shell;
pub mod smoke;
pub mod target;
pub mod telemetry;
pub mod tools;
pub mod troubleshooting;
pub mod validate;
pub mod workflow;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

use crate::flags::Command;

/// Parses the command line, runs the command in its span, and turns its result into an exit
/// code; the spans are flushed on every path.
pub fn main() -> ExitCode {
    // Panics are bugs: color-eyre's hook reports them readably. Errors are printed below.
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    let matches = flags::Xtask::command().get_matches();
    let flags = match flags::Xtask::from_arg_matches(&matches) {
        Ok(flags) => flags,
        Err(error) => error.exit(),
    };
    let telemetry = telemetry::init(&flags.global);
    let global = flags.global.clone();
    let span = telemetry::command_span(matches.subcommand_name().unwrap_or("xtask"));
    let code = span.in_scope(|| {
        let result = match flags.command {
            Command::Ci(cmd) => cmd.run(&global),
            Command::Test(cmd) => cmd.run(&global),
            Command::Lint(cmd) => cmd.run(&global),
            Command::Build(cmd) => cmd.run(&global),
            Command::Run(cmd) => cmd.run(&global),
            Command::SecurityScan(cmd) => cmd.run(&global),
            Command::Plan(cmd) => cmd.run(&global),
            Command::Doctor(cmd) => cmd.run(&global),
            Command::Setup(cmd) => cmd.run(&global),
            Command::GenCi(cmd) => cmd.run(&global),
            Command::VerifyParity(cmd) => cmd.run(&global),
            Command::Bench(cmd) => cmd.run(&global),
        };
        match result {
            Ok(()) => 0,
            Err(report) => {
                let code = troubleshooting::exit_code(&report).unwrap_or(1);
                tracing::Span::current()
                    .record("xtask.exit_code", code)
                    .record("otel.status_code", "ERROR");
                print_error(&report);
                code
            }
        }
    });
    drop(span);
    telemetry.shutdown();
    ExitCode::from(code)
}

/// `error: what went wrong`, then each cause indented, then the entry of
/// `docs/troubleshooting.md` that explains it; the full report with `RUST_BACKTRACE=1`.
fn print_error(report: &color_eyre::Report) {
    let help = help_line(report);
    if telemetry::json_logs() {
        // One JSON object, like every other line on stderr.
        if !report.to_string().is_empty() {
            let link = help.map(troubleshooting::Topic::link);
            tracing::error!(error = %format!("{report:#}"), help = link.as_deref(), "{report}");
        }
        return;
    }
    if std::env::var_os("RUST_BACKTRACE").is_some_and(|value| value != "0") {
        eprintln!("error: {report:?}");
    } else {
        let mut chain = report.chain();
        let Some(top) = chain.next().map(ToString::to_string) else {
            return;
        };
        if top.is_empty() {
            return;
        }
        eprintln!("error: {top}");
        for cause in chain {
            for line in cause.to_string().lines() {
                eprintln!("  {line}");
            }
        }
    }
    if let Some(help) = help {
        eprintln!("help: see {help}");
    }
}

/// Where the error is explained: its topic's entry, or the general one; none for Ctrl-C,
/// which explains itself.
fn help_line(report: &color_eyre::Report) -> Option<troubleshooting::Topic> {
    match troubleshooting::help(report) {
        Some(topic) => Some(topic),
        None if troubleshooting::exit_code(report) == Some(130) => None,
        None => Some(troubleshooting::Topic::Other),
    }
}
