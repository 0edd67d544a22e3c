//! Runs a command with its spans sent to an in-process OTLP receiver (the one the tests use),
//! then prints the tree of spans it received, with the step attributes:
//!
//! ```text
//! cargo run -p xtask --example trace_tree -- cargo xtask ci --runner local
//! ```

#[path = "../tests/otlp/mod.rs"]
mod otlp;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let Some((program, arguments)) = arguments.split_first() else {
        eprintln!("usage: trace_tree COMMAND [ARGUMENTS...]");
        return ExitCode::from(2);
    };
    let receiver = otlp::Receiver::start();
    let status = match Command::new(program)
        .args(arguments)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .status()
    {
        Ok(status) => status,
        Err(error) => {
            eprintln!("error: cannot run `{}`: {error}", program.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let spans = receiver.spans();
    let Some(first) = spans.first() else {
        println!("no spans received");
        return ExitCode::from(1);
    };
    println!(
        "{} spans in {} export requests to {}, trace {}; resource:",
        spans.len(),
        receiver.requests(),
        receiver.endpoint(),
        first.trace_id
    );
    for (key, value) in &first.resource {
        println!("  {key} = {value}");
    }
    print!(
        "{}",
        otlp::render_tree(
            &spans,
            &[
                "xtask.runner",
                "xtask.status",
                "xtask.exit_code",
                "xtask.duration_ms",
                "xtask.queue_wait_ms"
            ]
        )
    );
    println!("span id           parent id         name");
    for span in &spans {
        let parent = if span.parent_span_id.is_empty() {
            "-"
        } else {
            &span.parent_span_id
        };
        println!("{}  {parent:<16}  {}", span.span_id, span.name);
    }
    println!("command exit status: {status}");
    ExitCode::SUCCESS
}
