//! Step output: each line of a running recipe, labelled with its step, as it arrives; or, in
//! GitHub Actions, collected and printed in one `::group::` per step when the step ends,
//! because interleaved lines of parallel steps cannot be grouped.

use std::{
    collections::VecDeque,
    io::Write,
    sync::{Arc, Mutex},
};

/// How many trailing lines a step keeps for its failure message.
const TAIL_LINES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputStyle {
    /// Labels are padded to this width so the output lines up.
    pub label_width: usize,
    pub color: bool,
    /// Collect each step's output and print it as one GitHub Actions log group.
    pub grouped: bool,
}

impl OutputStyle {
    /// The style for this process: grouped under GitHub Actions, coloured on a terminal
    /// unless `NO_COLOR` is set.
    pub fn detect(label_width: usize) -> OutputStyle {
        use std::io::IsTerminal;
        let color = std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            && std::io::stderr().is_terminal();
        let grouped = std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true");
        OutputStyle {
            label_width,
            color,
            grouped,
        }
    }
}

/// The output of one step.
#[derive(Debug, Clone)]
pub struct StepLog {
    label: String,
    colour: u8,
    style: OutputStyle,
    state: Arc<Mutex<LogState>>,
}

#[derive(Debug, Default)]
struct LogState {
    tail: VecDeque<String>,
    grouped: Vec<(Stream, String)>,
}

impl StepLog {
    pub fn new(label: String, index: usize, style: OutputStyle) -> StepLog {
        // Six readable ANSI colours, cycled by step.
        let colour = [36, 35, 33, 32, 34, 31][index % 6];
        StepLog {
            label,
            colour,
            style,
            state: Arc::default(),
        }
    }

    /// Records one line (without its newline) and prints it unless output is grouped.
    pub fn line(&self, stream: Stream, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes)
            .trim_end_matches(['\n', '\r'])
            .to_owned();
        let mut state = self.state.lock().expect("step log lock");
        if state.tail.len() == TAIL_LINES {
            state.tail.pop_front();
        }
        state.tail.push_back(text.clone());
        if crate::telemetry::json_logs() {
            // Every line of stderr is a JSON object: the step's lines are events too.
            drop(state);
            let stream = match stream {
                Stream::Stdout => "stdout",
                Stream::Stderr => "stderr",
            };
            tracing::info!(target: "xtask::output", step = %self.label, stream, "{text}");
            return;
        }
        if self.style.grouped {
            state.grouped.push((stream, text));
            return;
        }
        drop(state);
        let prefix = self.prefix();
        write_line(stream, &format!("{prefix}{text}"));
    }

    /// Prints the collected output as one group (grouped style only).
    pub fn finish(&self) {
        if !self.style.grouped || crate::telemetry::json_logs() {
            return;
        }
        let lines = std::mem::take(&mut self.state.lock().expect("step log lock").grouped);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "::group::{}", self.label);
        for (_, line) in lines {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "::endgroup::");
    }

    /// The last lines the step printed, for its failure message.
    pub fn tail(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("step log lock")
            .tail
            .iter()
            .cloned()
            .collect()
    }

    fn prefix(&self) -> String {
        let width = self.style.label_width;
        if self.style.color {
            format!("\x1b[{}m{:<width$}\x1b[0m │ ", self.colour, self.label)
        } else {
            format!("{:<width$} │ ", self.label)
        }
    }
}

fn write_line(stream: Stream, line: &str) {
    // Whole lines under the lock, so lines of parallel steps never interleave mid-line.
    let _ = match stream {
        Stream::Stdout => writeln!(std::io::stdout().lock(), "{line}"),
        Stream::Stderr => writeln!(std::io::stderr().lock(), "{line}"),
    };
}
