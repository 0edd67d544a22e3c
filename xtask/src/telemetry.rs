//! Logs and traces. Progress goes to stderr through `tracing`: one line per event, or one JSON
//! object per line with `--log-format json`; `RUST_LOG` chooses what, `NO_COLOR` turns colour
//! off. When `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the
//! spans (command → plan, run → step) also go to that OpenTelemetry collector.
//!
//! [`init`] returns the [`Telemetry`] guard; dropping it (or [`Telemetry::shutdown`]) flushes the
//! spans, so `main` ends it on every path, errors and Ctrl-C included.

mod context;
mod otlp;
mod resource;

use std::sync::{
    OnceLock,
    atomic::{AtomicBool, Ordering},
};

use tracing::{
    Level, Span,
    field::{Empty, Field, Visit},
    info_span, span,
};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    EnvFilter, Layer,
    field::RecordFields,
    filter::filter_fn,
    fmt::{self, FormatFields, FormattedFields, format::Writer},
    layer::SubscriberExt,
    registry::Registry,
    util::SubscriberInitExt,
};

pub use context::{TRACEPARENT, TRACESTATE, trace_context_env, traceparent};
pub use otlp::ExportSettings;

use crate::flags::{Global, LogFormat};

/// Set once by [`init`]: progress is written as JSON lines.
static JSON_LOGS: AtomicBool = AtomicBool::new(false);

/// Set once by [`init`]: where spans are exported, if anywhere.
static EXPORT: OnceLock<Option<ExportSettings>> = OnceLock::new();

/// The environment variable that turns on Dagger Cloud traces for the engine sessions we start.
pub const DAGGER_CLOUD_TOKEN: &str = "DAGGER_CLOUD_TOKEN";

/// Keeps the span exporter alive; flushes it when dropped.
#[must_use = "dropping the guard flushes and stops the span export"]
pub struct Telemetry {
    export: Option<otlp::Export>,
}

impl Telemetry {
    /// Exports the spans still buffered, waiting at most the export timeout. Never fails: an
    /// unreachable collector was already reported once.
    pub fn shutdown(mut self) {
        if let Some(export) = self.export.take() {
            export.shutdown();
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(export) = self.export.take() {
            export.shutdown();
        }
    }
}

/// Installs the subscriber for this process: logs to stderr in `global.log_format`, and spans
/// to an OTLP collector when the environment names one. Progress at `info` by default.
pub fn init(global: &Global) -> Telemetry {
    let json = global.log_format == LogFormat::Json;
    JSON_LOGS.store(json, Ordering::Relaxed);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = !json && colour_allowed();
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match global.log_format {
        LogFormat::Auto => fmt::layer()
            .fmt_fields(HumanFields)
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_ansi(ansi)
            .without_time()
            .compact()
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .pretty()
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_filter(filter)
            .boxed(),
    };

    let (export, problem) = match otlp::ExportSettings::from_env() {
        Ok(Some(settings)) => match otlp::Export::start(&settings, global.project.as_deref()) {
            Ok(export) => (Some((settings, export)), None),
            Err(error) => (None, Some(error)),
        },
        Ok(None) => (None, None),
        Err(error) => (None, Some(error)),
    };
    // Only our own spans and events: the HTTP client's would feed the exporter its own work.
    let spans = export.as_ref().map(|(_, export)| {
        export.layer().with_filter(filter_fn(|metadata| {
            metadata.target().starts_with("xtask") && *metadata.level() <= Level::INFO
        }))
    });
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
    if let Some(problem) = problem {
        tracing::warn!("{problem}; continuing without exporting traces");
    }
    let _ = EXPORT.set(export.as_ref().map(|(settings, _)| settings.clone()));
    Telemetry {
        export: export.map(|(_, export)| export),
    }
}

/// The root span of a command, the child of an incoming `TRACEPARENT` when there is one.
/// Record `xtask.exit_code` (and `otel.status_code = "ERROR"`) on it when the command fails.
pub fn command_span(command: &str) -> Span {
    let span = info_span!(
        "command",
        otel.name = %format!("xtask {command}"),
        command,
        xtask.exit_code = Empty,
        otel.status_code = Empty,
    );
    if let Some(parent) = context::incoming() {
        // Fails only when no span export is installed, and then there is nothing to parent.
        let _ = span.set_parent(parent);
    }
    span
}

/// Records which runner executes the current step (and in which image), on the `step` span
/// the scheduler opened. Runners call this at the start of `StepExecutor::execute`.
pub fn record_step_runner(runner: &str, image: Option<&str>) {
    let span = Span::current();
    span.record("xtask.runner", runner);
    if let Some(image) = image {
        span.record("xtask.image", image);
    }
}

/// Progress is written as JSON lines (`--log-format json`): nothing else may go to stderr.
pub fn json_logs() -> bool {
    JSON_LOGS.load(Ordering::Relaxed)
}

/// Where spans go, if anywhere (after [`init`]).
pub fn export_settings() -> Option<&'static ExportSettings> {
    EXPORT.get().and_then(Option::as_ref)
}

/// The id of the trace this process belongs to, when spans are exported.
pub fn trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    let context = Span::current().context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Whether Dagger Cloud receives the engine's traces: `DAGGER_CLOUD_TOKEN` is set (the token
/// itself is never printed).
pub fn dagger_cloud_enabled() -> bool {
    std::env::var_os(DAGGER_CLOUD_TOKEN).is_some_and(|token| !token.is_empty())
}

/// Colour unless `NO_COLOR` is set (to anything but the empty string) or stderr is not a
/// terminal.
fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// The fields of the one-line human log: `name=value`, without the namespaced span attributes
/// (`otel.*`, `xtask.*`) that are meant for traces and JSON logs, and that would repeat on
/// every line of a step.
struct HumanFields;

impl<'writer> FormatFields<'writer> for HumanFields {
    fn format_fields<R: RecordFields>(
        &self,
        writer: Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        let mut visitor = HumanVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &span::Record<'_>,
    ) -> std::fmt::Result {
        let mut added = String::new();
        self.format_fields(Writer::new(&mut added), fields)?;
        if !added.is_empty() {
            if !current.fields.is_empty() {
                current.fields.push(' ');
            }
            current.fields.push_str(&added);
        }
        Ok(())
    }
}

struct HumanVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: std::fmt::Result,
}

impl Visit for HumanVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let name = field.name();
        if self.result.is_err() || name.contains('.') {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = if name == "message" {
            write!(self.writer, "{separator}{value:?}")
        } else {
            write!(self.writer, "{separator}{name}={value:?}")
        };
    }
}
