//! An OTLP receiver for tests: an HTTP server on 127.0.0.1 that accepts `POST /v1/traces`
//! (http/protobuf), decodes each `ExportTraceServiceRequest` with `opentelemetry-proto`, and
//! keeps the spans for assertions; plus a renderer of the span tree.

#![allow(dead_code, unreachable_pub)]

use std::{
    collections::BTreeMap,
    convert::Infallible,
    fmt::Write as _,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode, body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::{AnyValue, KeyValue, any_value::Value},
};
use prost::Message as _;

/// A span as received, with ids in lowercase hex and attributes as strings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    /// The status code: 0 unset, 1 ok, 2 error.
    pub status: i32,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub events: Vec<String>,
    /// The attributes of the resource the span came with.
    pub resource: BTreeMap<String, String>,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Default)]
struct Received {
    requests: usize,
    spans: Vec<ReceivedSpan>,
}

/// The receiver; it stops when dropped.
pub struct Receiver {
    pub address: SocketAddr,
    received: Arc<Mutex<Received>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("receiver runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let received = Arc::new(Mutex::new(Received::default()));
        let shared = Arc::clone(&received);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(request, Arc::clone(&shared)));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            address,
            received,
            _runtime: runtime,
        }
    }

    /// The base URL to put in `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received.lock().unwrap().spans.clone()
    }

    /// How many export requests arrived.
    pub fn requests(&self) -> usize {
        self.received.lock().unwrap().requests
    }
}

async fn handle(
    request: Request<hyper::body::Incoming>,
    received: Arc<Mutex<Received>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let respond = |status: StatusCode, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header("content-type", "application/x-protobuf")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    if request.method() != hyper::Method::POST || request.uri().path() != "/v1/traces" {
        return Ok(respond(StatusCode::NOT_FOUND, Vec::new()));
    }
    let Ok(body) = request.into_body().collect().await else {
        return Ok(respond(StatusCode::BAD_REQUEST, Vec::new()));
    };
    let Ok(export) = ExportTraceServiceRequest::decode(body.to_bytes()) else {
        return Ok(respond(StatusCode::BAD_REQUEST, Vec::new()));
    };
    let mut received = received.lock().unwrap();
    received.requests += 1;
    for resource_spans in export.resource_spans {
        let resource = attributes(
            &resource_spans
                .resource
                .map(|resource| resource.attributes)
                .unwrap_or_default(),
        );
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                received.spans.push(ReceivedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    attributes: attributes(&span.attributes),
                    status: span.status.map_or(0, |status| status.code),
                    start_unix_nano: span.start_time_unix_nano,
                    end_unix_nano: span.end_time_unix_nano,
                    events: span.events.into_iter().map(|event| event.name).collect(),
                    resource: resource.clone(),
                });
            }
        }
    }
    Ok(respond(
        StatusCode::OK,
        ExportTraceServiceResponse::default().encode_to_vec(),
    ))
}

fn attributes(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(text).unwrap_or_default(),
            )
        })
        .collect()
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(Value::StringValue(text)) => text.clone(),
        Some(Value::BoolValue(flag)) => flag.to_string(),
        Some(Value::IntValue(number)) => number.to_string(),
        Some(Value::DoubleValue(number)) => number.to_string(),
        Some(Value::ArrayValue(array)) => {
            let items: Vec<String> = array.values.iter().map(text).collect();
            format!("[{}]", items.join(", "))
        }
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// The spans as an indented tree, children in start order: `name  [attributes]`, with the
/// `attributes` keys given (when present). Spans whose parent was not received hang from a
/// line naming that parent.
pub fn render_tree(spans: &[ReceivedSpan], keys: &[&str]) -> String {
    let mut children: BTreeMap<&str, Vec<&ReceivedSpan>> = BTreeMap::new();
    for span in spans {
        children.entry(&span.parent_span_id).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|span| (span.start_unix_nano, span.name.clone()));
    }
    let known: std::collections::BTreeSet<&str> =
        spans.iter().map(|span| span.span_id.as_str()).collect();
    let mut out = String::new();
    for (parent, roots) in &children {
        if known.contains(parent) {
            continue;
        }
        if parent.is_empty() {
            out.push_str("(root)\n");
        } else {
            let _ = writeln!(out, "(remote parent {parent})");
        }
        for root in roots {
            render(&mut out, root, &children, keys, 1);
        }
    }
    out
}

fn render(
    out: &mut String,
    span: &ReceivedSpan,
    children: &BTreeMap<&str, Vec<&ReceivedSpan>>,
    keys: &[&str],
    depth: usize,
) {
    let details: Vec<String> = keys
        .iter()
        .filter_map(|key| span.attribute(key).map(|value| format!("{key}={value}")))
        .collect();
    let _ = write!(out, "{}{}", "  ".repeat(depth), span.name);
    if !details.is_empty() {
        let _ = write!(out, "  [{}]", details.join(" "));
    }
    out.push('\n');
    for child in children.get(span.span_id.as_str()).into_iter().flatten() {
        render(out, child, children, keys, depth + 1);
    }
}
