//! W3C trace context across processes, through the `TRACEPARENT` and `TRACESTATE` environment
//! variables (the convention `dagger run`, the Dagger CLI and engine, and CI systems follow):
//! an incoming context becomes the parent of our command span, and the current span's context
//! is handed to the processes we start, so their spans sit under ours in one trace.

use std::{collections::HashMap, sync::atomic::AtomicBool};

use opentelemetry::{Context, propagation::TextMapPropagator as _, trace::TraceContextExt as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub const TRACEPARENT: &str = "TRACEPARENT";
pub const TRACESTATE: &str = "TRACESTATE";

/// The context of this process's `TRACEPARENT` (and `TRACESTATE`), when it holds a valid one.
pub(super) fn incoming() -> Option<Context> {
    let traceparent = std::env::var(TRACEPARENT)
        .ok()
        .filter(|value| !value.is_empty())?;
    let tracestate = std::env::var(TRACESTATE).unwrap_or_default();
    let context = extract(&traceparent, &tracestate);
    if context.is_none() {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                "ignoring {TRACEPARENT}=`{traceparent}`: not a W3C traceparent such as `00-<32 hex trace id>-<16 hex span id>-01`"
            );
        }
    }
    context
}

/// The remote context in a `traceparent` / `tracestate` pair.
pub(super) fn extract(traceparent: &str, tracestate: &str) -> Option<Context> {
    let mut carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    if !tracestate.is_empty() {
        carrier.insert("tracestate".to_owned(), tracestate.to_owned());
    }
    let context = TraceContextPropagator::new().extract(&carrier);
    let valid = context.span().span_context().is_valid();
    valid.then_some(context)
}

/// The current span as a W3C `traceparent` value (`00-<trace id>-<span id>-<flags>`), to hand
/// to a process we start (such as `dagger session`) as its `TRACEPARENT`. `None` when spans are
/// not exported: then the process inherits our own `TRACEPARENT`, if any, unchanged.
pub fn traceparent() -> Option<String> {
    trace_context_env()
        .into_iter()
        .find(|(name, _)| *name == TRACEPARENT)
        .map(|(_, value)| value)
}

/// `TRACEPARENT` (and `TRACESTATE` when there is one) for the current span: set them on the
/// command of a process we start so its spans become children of the current span. Empty when
/// spans are not exported.
pub fn trace_context_env() -> Vec<(&'static str, String)> {
    let context = Span::current().context();
    let span_context = context.span().span_context().clone();
    if !span_context.is_valid() {
        return Vec::new();
    }
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    let mut variables = Vec::new();
    if let Some(traceparent) = carrier.remove("traceparent") {
        variables.push((TRACEPARENT, traceparent));
    }
    if let Some(tracestate) = carrier
        .remove("tracestate")
        .filter(|state| !state.is_empty())
    {
        variables.push((TRACESTATE, tracestate));
    }
    variables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_is_the_remote_parent() {
        let context = extract(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "vendor=value",
        )
        .expect("valid");
        let span = context.span();
        let parent = span.span_context();
        assert!(parent.is_remote());
        assert_eq!(
            parent.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(parent.span_id().to_string(), "b7ad6b7169203331");
        assert!(parent.is_sampled());
        assert_eq!(parent.trace_state().header(), "vendor=value");
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        for value in [
            "garbage",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        ] {
            assert!(extract(value, "").is_none(), "{value}");
        }
    }

    #[test]
    fn without_an_exported_span_there_is_nothing_to_hand_on() {
        assert_eq!(traceparent(), None);
        assert!(trace_context_env().is_empty());
    }
}
