//! Span export to an OpenTelemetry collector over OTLP http/protobuf, configured by the
//! standard `OTEL_*` variables. Export runs on the SDK's background thread with a bounded
//! timeout; a collector that cannot be reached costs one warning, never the build.

use std::{
    fmt,
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{SdkTracerProvider, SpanData, SpanExporter},
};
use tracing_subscriber::registry::LookupSpan;

use super::resource;

/// How long one export (and the final flush) may take when `OTEL_EXPORTER_OTLP_TIMEOUT` does
/// not say: short, because a CI run must not hang on a collector that does not answer.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how spans are exported, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSettings {
    /// The full URL spans are posted to, such as `http://localhost:4318/v1/traces`.
    pub endpoint: String,
    pub protocol: &'static str,
    pub timeout: Duration,
}

impl ExportSettings {
    /// The settings the environment asks for; `None` when no endpoint is set or the SDK is
    /// disabled (`OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none`).
    pub fn from_env() -> Result<Option<ExportSettings>, String> {
        ExportSettings::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// [`ExportSettings::from_env`] with the environment given.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ExportSettings>, String> {
        if lookup("OTEL_SDK_DISABLED").is_some_and(|value| value.eq_ignore_ascii_case("true"))
            || lookup("OTEL_TRACES_EXPORTER").is_some_and(|value| value == "none")
        {
            return Ok(None);
        }
        // The traces variable is the whole URL; the general one is a base for `/v1/traces`.
        let endpoint = if let Some(endpoint) = lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            endpoint
        } else if let Some(base) = lookup("OTEL_EXPORTER_OTLP_ENDPOINT") {
            format!("{}/v1/traces", base.trim_end_matches('/'))
        } else {
            return Ok(None);
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(format!(
                "OTLP endpoint `{endpoint}` is not an http:// or https:// URL; set OTEL_EXPORTER_OTLP_ENDPOINT to a URL such as `http://localhost:4318`"
            ));
        }
        let protocol = lookup("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| lookup("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_else(|| "http/protobuf".to_owned());
        let protocol = match protocol.as_str() {
            "http/protobuf" => "http/protobuf",
            other => {
                return Err(format!(
                    "OTLP protocol `{other}` is not supported; the xtask exports `http/protobuf`, which every OpenTelemetry collector accepts on port 4318: unset OTEL_EXPORTER_OTLP_PROTOCOL or set it to `http/protobuf`"
                ));
            }
        };
        let timeout = lookup("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| lookup("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .and_then(|millis| millis.parse().ok())
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        Ok(Some(ExportSettings {
            endpoint,
            protocol,
            timeout,
        }))
    }
}

impl fmt::Display for ExportSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, timeout {} ms)",
            self.endpoint,
            self.protocol,
            self.timeout.as_millis()
        )
    }
}

/// A running span export: the SDK's tracer provider with its batch processor.
pub(super) struct Export {
    provider: SdkTracerProvider,
    timeout: Duration,
}

impl Export {
    /// Starts exporting to `settings.endpoint`; `project` is where git is asked for the commit
    /// and branch when CI does not say.
    pub(super) fn start(
        settings: &ExportSettings,
        project: Option<&Path>,
    ) -> Result<Export, String> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(&settings.endpoint)
            .with_timeout(settings.timeout)
            .build()
            .map_err(|error| format!("cannot export traces to `{}`: {error}", settings.endpoint))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(WarnOnce {
                inner: exporter,
                endpoint: settings.endpoint.clone(),
                warned: AtomicBool::new(false),
            })
            .with_resource(resource::detect(project))
            .build();
        Ok(Export {
            provider,
            timeout: settings.timeout,
        })
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub(super) fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("xtask"))
            .with_threads(false)
            .with_location(false)
    }

    /// Exports what is buffered, waiting at most twice the export timeout (the batch in flight,
    /// then the rest).
    pub(super) fn shutdown(self) {
        let _ = self.provider.shutdown_with_timeout(self.timeout * 2);
    }
}

/// The OTLP exporter, saying once (not once per batch) that the collector cannot be reached.
#[derive(Debug)]
struct WarnOnce<E> {
    inner: E,
    endpoint: String,
    warned: AtomicBool,
}

impl<E: SpanExporter> SpanExporter for WarnOnce<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        if let Err(error) = &result
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                endpoint = %self.endpoint,
                "cannot export traces to `{}`: {error}; the build goes on without them",
                self.endpoint
            );
        }
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(variables: &[(&str, &str)]) -> Result<Option<ExportSettings>, String> {
        ExportSettings::from_lookup(|name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn no_endpoint_means_no_export() {
        assert_eq!(settings(&[]), Ok(None));
        assert_eq!(
            settings(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
                ("OTEL_SDK_DISABLED", "true")
            ]),
            Ok(None)
        );
    }

    #[test]
    fn the_general_endpoint_is_a_base_and_the_traces_one_a_whole_url() {
        let general = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")])
            .unwrap()
            .unwrap();
        assert_eq!(general.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(general.timeout, DEFAULT_TIMEOUT);
        let traces = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://api.example/otlp",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1500"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(traces.endpoint, "https://api.example/otlp");
        assert_eq!(traces.timeout, Duration::from_millis(1500));
    }

    #[test]
    fn unsupported_protocols_and_urls_are_named() {
        let error = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap_err();
        assert!(error.contains("`grpc` is not supported"), "{error}");
        let error = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")]).unwrap_err();
        assert!(error.contains("not an http:// or https:// URL"), "{error}");
    }
}
