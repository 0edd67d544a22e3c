//! A recording stand-in for a Dagger engine session.
//!
//! The Rust SDK (`dagger-sdk =1.0.0-beta.23`) talks to the engine through one
//! HTTP endpoint: it POSTs `{"query": "...", "variables": null}` to
//! `http://127.0.0.1:PORT/query` with `Authorization: Basic base64("TOKEN:")`
//! (SDK `src/core/graphql_client.rs:29-32`, `src/core/gql_client.rs:316-337`).
//! Every query is a single path (`query{a(..){b(..){leaf}}}`, SDK
//! `src/querybuilder.rs:146-172`), so answering it only takes nesting a value
//! for the leaf under the path's response keys.
//!
//! The stand-in listens on 127.0.0.1:0 on a thread of its own (its own tokio
//! runtime), so it serves a test's in-process SDK client, a `#[test]` that is
//! not async, and a child process given [`EngineStandin::env`] alike. It
//! serves requests concurrently and records each one with its arrival order,
//! the TCP connection it came on, and start/end times.
//!
//! Ids are minted deterministically from the query that asks for them
//! (FNV-1a of the canonical chain, see [`canonical`]), so two identical runs
//! send byte-identical canonical queries.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// How the stand-in answers. Rules are matched against the query text (raw,
/// or its [`canonical`] form, so a needle spanning several arguments can be
/// written in sorted order); where several rules of a kind match, the last
/// one added wins.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
enum Rule {
    Exec {
        needle: String,
        failure: ExecFailure,
    },
    Id {
        needle: String,
        fault: IdFault,
    },
    Delay {
        needle: String,
        delay: Duration,
    },
    Leaf {
        needle: String,
        field: String,
        value: Value,
    },
    Raw {
        needle: String,
        body: Value,
    },
    ExportFiles {
        needle: String,
        files: Vec<(String, String)>,
    },
}

/// What a failing `withExec` reports: the fields of the engine's
/// `EXEC_ERROR` extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecFailure {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl ExecFailure {
    pub fn new(exit_code: i32) -> Self {
        Self {
            exit_code,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    pub fn stdout(mut self, stdout: impl Into<String>) -> Self {
        self.stdout = stdout.into();
        self
    }

    pub fn stderr(mut self, stderr: impl Into<String>) -> Self {
        self.stderr = stderr.into();
        self
    }
}

/// How an `{id}` query goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdFault {
    /// A GraphQL error (`{"data":null,"errors":[{"message":..}]}`), as the
    /// engine answers e.g. for a host path it cannot read.
    GraphQlError,
    /// `data` of the wrong shape (the id is a number), which the SDK fails
    /// to deserialize.
    WrongType,
}

impl Behaviour {
    /// Every query succeeds: ids for `id`/`sync`, `""` for
    /// `stdout`/`stderr`/`combinedOutput`/`contents`, `0` for `exitCode`, the
    /// absolute host path for `export` (which writes nothing unless
    /// [`Behaviour::export_files`] says what).
    pub fn normal() -> Self {
        Self::default()
    }

    /// A non-`{id}` query containing `needle` (typically a `withExec`'s
    /// `args:[...]`) fails like the engine's exec error, unless that
    /// `withExec` says `expect:ANY` (or `FAILURE`): then it succeeds and the
    /// `exitCode`/`stdout`/`stderr` leaves report `failure`'s values.
    pub fn fail_exec(mut self, needle: impl Into<String>, failure: ExecFailure) -> Self {
        self.rules.push(Rule::Exec {
            needle: needle.into(),
            failure,
        });
        self
    }

    /// `{id}` queries containing `needle` (`""`: all of them) go wrong.
    pub fn fail_id(mut self, needle: impl Into<String>, fault: IdFault) -> Self {
        self.rules.push(Rule::Id {
            needle: needle.into(),
            fault,
        });
        self
    }

    /// Every query is answered only after `delay`.
    pub fn delay(self, delay: Duration) -> Self {
        self.delay_on("", delay)
    }

    /// Queries containing `needle` are answered only after `delay`.
    pub fn delay_on(mut self, needle: impl Into<String>, delay: Duration) -> Self {
        self.rules.push(Rule::Delay {
            needle: needle.into(),
            delay,
        });
        self
    }

    /// Leaf `field` (e.g. `"stdout"`) answers `value` in every query.
    pub fn leaf(self, field: impl Into<String>, value: Value) -> Self {
        self.leaf_on("", field, value)
    }

    /// Leaf `field` answers `value` in queries containing `needle`.
    pub fn leaf_on(
        mut self,
        needle: impl Into<String>,
        field: impl Into<String>,
        value: Value,
    ) -> Self {
        self.rules.push(Rule::Leaf {
            needle: needle.into(),
            field: field.into(),
            value,
        });
        self
    }
}

impl Behaviour {
    /// An `export` whose query contains `needle` writes `files` (path relative to the export
    /// path, contents) on this machine before answering, as the engine writes the exported
    /// directory on the caller's host; every matching rule writes. Without one, `export`
    /// writes nothing.
    pub fn export_files<P: Into<String>, C: Into<String>>(
        mut self,
        needle: impl Into<String>,
        files: impl IntoIterator<Item = (P, C)>,
    ) -> Self {
        self.rules.push(Rule::ExportFiles {
            needle: needle.into(),
            files: files
                .into_iter()
                .map(|(path, contents)| (path.into(), contents.into()))
                .collect(),
        });
        self
    }

    /// Queries containing `needle` are answered with exactly `body` (HTTP
    /// 200), before any other rule: for shapes the engine may send that the
    /// SDK handles badly.
    pub fn raw_on(mut self, needle: impl Into<String>, body: Value) -> Self {
        self.rules.push(Rule::Raw {
            needle: needle.into(),
            body,
        });
        self
    }
}

/// One request the stand-in answered (auth passed, `POST /query`, JSON body).
#[derive(Clone, Debug)]
pub struct RecordedQuery {
    /// Arrival order, from 0.
    pub seq: usize,
    /// The TCP connection it came on, numbered from 1 in accept order.
    pub connection: u64,
    /// The client end of that connection.
    pub peer: SocketAddr,
    /// The query text exactly as sent.
    pub query: String,
    /// The request's `variables` (`null` from this SDK).
    pub variables: Value,
    /// The request's `operationName`, if any.
    pub operation_name: Option<String>,
    /// Request headers, names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    /// When the body had arrived, since the stand-in started.
    pub started: Duration,
    /// When the answer was ready (after any delay); `None` while in flight.
    pub finished: Option<Duration>,
    /// The JSON answered; `None` while in flight.
    pub response: Option<Value>,
}

impl RecordedQuery {
    /// The parsed selection path. Panics if the text is not the SDK's
    /// single-path shape.
    pub fn chain(&self) -> Vec<Step> {
        parse_query(&self.query)
            .unwrap_or_else(|e| panic!("unparsable query {:?}: {e}", self.query))
    }

    /// The query with each field's arguments sorted by name (the SDK sends
    /// them in `HashMap` order, which varies from run to run).
    pub fn canonical(&self) -> String {
        canonical(&self.query)
    }

    /// The last field of the path (`id`, `stdout`, `export`, ...).
    pub fn leaf(&self) -> String {
        last_field(&self.chain())
            .map(|f| f.name.clone())
            .unwrap_or_default()
    }

    /// Whether this is an `{id}` query (how the SDK resolves object
    /// arguments before the query that uses them).
    pub fn is_id_query(&self) -> bool {
        self.leaf() == "id"
    }

    /// Whether the two requests were in flight at the same time.
    pub fn overlaps(&self, other: &RecordedQuery) -> bool {
        let end = |q: &RecordedQuery| q.finished.unwrap_or(Duration::MAX);
        self.started < end(other) && other.started < end(self)
    }

    /// Whether `needle` occurs anywhere in what was sent: query text,
    /// variables, operation name or any header value.
    pub fn sent_contains(&self, needle: &str) -> bool {
        self.query.contains(needle)
            || self.variables.to_string().contains(needle)
            || self
                .operation_name
                .as_deref()
                .is_some_and(|o| o.contains(needle))
            || self
                .headers
                .iter()
                .any(|(k, v)| k.contains(needle) || v.contains(needle))
    }
}

/// A request the stand-in refused (bad token, wrong path/method, bad body).
#[derive(Clone, Debug)]
pub struct RejectedRequest {
    pub connection: u64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub reason: String,
}

/// A running stand-in. Stops (and joins its thread) on drop.
pub struct EngineStandin {
    port: u16,
    token: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    token: String,
    behaviour: Behaviour,
    epoch: Instant,
    host_cwd: std::path::PathBuf,
    log: Mutex<Log>,
}

#[derive(Default)]
struct Log {
    queries: Vec<RecordedQuery>,
    rejected: Vec<RejectedRequest>,
}

impl EngineStandin {
    /// Listens on 127.0.0.1:0 and serves until dropped.
    pub fn start(behaviour: Behaviour) -> Self {
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let token = format!(
            "standin-{:x}-{:x}-{}",
            nanos,
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        );

        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("engine stand-in: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("engine stand-in: set_nonblocking");
        let port = listener.local_addr().expect("local_addr").port();

        let shared = Arc::new(Shared {
            token: token.clone(),
            behaviour,
            epoch: Instant::now(),
            host_cwd: std::env::current_dir().unwrap_or_else(|_| "/".into()),
            log: Mutex::new(Log::default()),
        });
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("engine-standin-{port}"))
            .spawn({
                let shared = shared.clone();
                move || serve(listener, shared, stop)
            })
            .expect("engine stand-in: spawn thread");

        Self {
            port,
            token,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The session token a client must present (as the Basic-auth user).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `http://127.0.0.1:PORT/query`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/query", self.port)
    }

    /// What to set in a child process so the SDK's `connect` finds this
    /// session instead of starting (or downloading) a Dagger CLI.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            ("DAGGER_SESSION_PORT", self.port.to_string()),
            ("DAGGER_SESSION_TOKEN", self.token.clone()),
        ]
    }

    /// Every answered request so far, in arrival order.
    pub fn queries(&self) -> Vec<RecordedQuery> {
        self.shared.log.lock().unwrap().queries.clone()
    }

    /// Every refused request so far (e.g. a wrong token).
    pub fn rejected(&self) -> Vec<RejectedRequest> {
        self.shared.log.lock().unwrap().rejected.clone()
    }
}

impl Drop for EngineStandin {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("engine stand-in: tokio runtime");
    rt.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).expect("engine stand-in: listener");
        let mut connections = 0u64;
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(_) => continue,
                },
            };
            connections += 1;
            let connection = connections;
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    handle(shared.clone(), connection, peer, req)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    // Dropping the runtime here cancels connections still open or delayed.
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: &Value) -> Reply {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts")
}

async fn handle(
    shared: Arc<Shared>,
    connection: u64,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Reply, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let authorized =
        basic_auth_user(req.headers().get(AUTHORIZATION)).is_some_and(|user| user == shared.token);
    let body = req
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes);

    let reject = |status: StatusCode, reason: String| {
        shared.log.lock().unwrap().rejected.push(RejectedRequest {
            connection,
            method: method.to_string(),
            path: path.clone(),
            status: status.as_u16(),
            reason: reason.clone(),
        });
        Ok(reply(status, &json!({ "errors": [{ "message": reason }] })))
    };

    if method != Method::POST || path != "/query" {
        return reject(StatusCode::NOT_FOUND, format!("no route {method} {path}"));
    }
    if !authorized {
        return reject(
            StatusCode::UNAUTHORIZED,
            "missing or wrong session token".into(),
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(e) => return reject(StatusCode::BAD_REQUEST, format!("reading body: {e}")),
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return reject(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return reject(StatusCode::BAD_REQUEST, "body has no \"query\"".into());
    };

    let started = shared.epoch.elapsed();
    let seq = {
        let mut log = shared.log.lock().unwrap();
        let seq = log.queries.len();
        log.queries.push(RecordedQuery {
            seq,
            connection,
            peer,
            query: query.to_owned(),
            variables: request.get("variables").cloned().unwrap_or(Value::Null),
            operation_name: request
                .get("operationName")
                .and_then(Value::as_str)
                .map(str::to_owned),
            headers,
            started,
            finished: None,
            response: None,
        });
        seq
    };

    let canonical_text = canonical(query);
    let delay = shared
        .behaviour
        .rules
        .iter()
        .rev()
        .find_map(|r| match r {
            Rule::Delay { needle, delay } if matches(needle, query, &canonical_text) => {
                Some(*delay)
            }
            _ => None,
        })
        .unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let response = answer(&shared, query, &canonical_text);
    {
        let mut log = shared.log.lock().unwrap();
        let record = &mut log.queries[seq];
        record.finished = Some(shared.epoch.elapsed());
        record.response = Some(response.clone());
    }
    // The engine answers GraphQL errors with 200 too; the SDK reads the
    // `errors` array whatever the status (SDK src/core/gql_client.rs:371-388).
    Ok(reply(StatusCode::OK, &response))
}

/// The user name of a Basic `Authorization` header. The SDK encodes
/// `TOKEN:` with base64's URL-safe alphabet (SDK
/// `src/core/graphql_client.rs:29`), `reqwest::basic_auth` with the standard
/// one: accept both.
fn basic_auth_user(header: Option<&hyper::header::HeaderValue>) -> Option<String> {
    let value = header?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?.trim();
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let decoded = engines.iter().find_map(|e| e.decode(encoded).ok())?;
    let decoded = String::from_utf8(decoded).ok()?;
    Some(
        decoded
            .split_once(':')
            .map_or(decoded.clone(), |(u, _)| u.to_owned()),
    )
}

fn matches(needle: &str, raw: &str, canonical: &str) -> bool {
    raw.contains(needle) || canonical.contains(needle)
}

fn answer(shared: &Shared, query: &str, canonical_text: &str) -> Value {
    let raw = shared.behaviour.rules.iter().rev().find_map(|r| match r {
        Rule::Raw { needle, body } if matches(needle, query, canonical_text) => Some(body.clone()),
        _ => None,
    });
    if let Some(body) = raw {
        return body;
    }
    let chain = match parse_query(query) {
        Ok(chain) => chain,
        Err(e) => return graphql_error(&format!("engine stand-in: cannot parse query: {e}"), None),
    };
    let Some(leaf) = last_field(&chain) else {
        return graphql_error("engine stand-in: empty selection", None);
    };
    let rules = &shared.behaviour.rules;

    if leaf.name == "id" {
        let fault = rules.iter().rev().find_map(|r| match r {
            Rule::Id { needle, fault } if matches(needle, query, canonical_text) => Some(*fault),
            _ => None,
        });
        match fault {
            Some(IdFault::GraphQlError) => {
                let object = chain_fields(&chain)
                    .nth_back(1)
                    .map_or("query", |f| f.name.as_str());
                return graphql_error(
                    &format!("engine stand-in: injected failure resolving the id of `{object}`"),
                    Some((&chain, leaf)),
                );
            }
            Some(IdFault::WrongType) => return nest(&chain, json!(42)),
            None => {}
        }
    } else if let Some(failure) = rules.iter().rev().find_map(|r| match r {
        Rule::Exec { needle, failure } if matches(needle, query, canonical_text) => Some(failure),
        _ => None,
    }) {
        let exec = chain_fields(&chain).rev().find(|f| f.name == "withExec");
        let expect = exec.and_then(|f| f.arg("expect")).unwrap_or("SUCCESS");
        let tolerated = match expect {
            "ANY" => true,
            "FAILURE" => failure.exit_code != 0,
            _ => failure.exit_code == 0,
        };
        if !tolerated {
            return exec_error(&chain, leaf, exec, failure);
        }
        let value = match leaf.name.as_str() {
            "exitCode" => Some(json!(failure.exit_code)),
            "stdout" => Some(json!(failure.stdout)),
            "stderr" => Some(json!(failure.stderr)),
            "combinedOutput" => Some(json!(format!("{}{}", failure.stdout, failure.stderr))),
            _ => None,
        };
        if let Some(value) = value {
            return nest(&chain, value);
        }
    }

    if leaf.name == "export"
        && let Err(e) = write_exported_files(rules, query, canonical_text, leaf, &shared.host_cwd)
    {
        return graphql_error(
            &format!("engine stand-in: cannot write the exported files: {e}"),
            Some((&chain, leaf)),
        );
    }

    let configured = rules.iter().rev().find_map(|r| match r {
        Rule::Leaf {
            needle,
            field,
            value,
        } if *field == leaf.name && matches(needle, query, canonical_text) => Some(value.clone()),
        _ => None,
    });
    match configured.or_else(|| default_leaf(&chain, leaf, &shared.host_cwd)) {
        Some(value) => nest(&chain, value),
        None => graphql_error(
            &format!(
                "engine stand-in: no answer for leaf `{}`; configure one with Behaviour::leaf",
                leaf.name
            ),
            Some((&chain, leaf)),
        ),
    }
}

/// The files of every matching [`Rule::ExportFiles`], under the export's `path`.
fn write_exported_files(
    rules: &[Rule],
    query: &str,
    canonical_text: &str,
    leaf: &Field,
    host_cwd: &Path,
) -> std::io::Result<()> {
    let Some(path) = leaf.arg_string("path") else {
        return Ok(());
    };
    let root = host_cwd.join(path);
    for rule in rules {
        let Rule::ExportFiles { needle, files } = rule else {
            continue;
        };
        if !matches(needle, query, canonical_text) {
            continue;
        }
        for (relative, contents) in files {
            let file = root.join(relative);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(file, contents)?;
        }
    }
    Ok(())
}

fn default_leaf(chain: &[Step], leaf: &Field, host_cwd: &Path) -> Option<Value> {
    Some(match leaf.name.as_str() {
        // `sync` answers the id of the object it forced (SDK gen.rs:3464-3476).
        "id" | "sync" => json!(mint_id(chain)),
        "stdout" | "stderr" | "combinedOutput" | "contents" => json!(""),
        "exitCode" => json!(0),
        // The engine answers the absolute path written on the caller's host
        // (`StatCallerHostPath`), a relative one resolved against the
        // caller's working directory.
        "export" => {
            let path = leaf.arg_string("path")?;
            json!(host_cwd.join(path).to_string_lossy())
        }
        _ => return None,
    })
}

/// `standin:<object>:<16 hex>`: FNV-1a of the canonical chain that builds the
/// object, so the same pipeline gets the same ids on every run and the `id`
/// and `sync` of one object agree.
fn mint_id(chain: &[Step]) -> String {
    let object = &chain[..chain.len().saturating_sub(1)];
    let object_name = chain_fields(object)
        .last()
        .map_or("query", |f| f.name.as_str());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in render(object).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("standin:{object_name}:{hash:016x}")
}

fn response_path(chain: &[Step]) -> Vec<Value> {
    chain_fields(chain)
        .map(|f| json!(f.alias.as_ref().unwrap_or(&f.name)))
        .collect()
}

fn nest(chain: &[Step], value: Value) -> Value {
    let data = chain_fields(chain).rev().fold(
        value,
        |inner, f| json!({ f.alias.as_ref().unwrap_or(&f.name): inner }),
    );
    json!({ "data": data })
}

fn graphql_error(message: &str, at: Option<(&[Step], &Field)>) -> Value {
    let mut error = json!({ "message": message });
    if let Some((chain, leaf)) = at {
        error["locations"] = json!([{ "line": 1, "column": leaf.offset + 1 }]);
        error["path"] = json!(response_path(chain));
    }
    json!({ "data": null, "errors": [error] })
}

/// The engine's exec error: message as buildkit words it, `extensions` as
/// the engine's `ExecError.Extensions()` builds them and as the SDK reads
/// them (SDK src/core/gql_client.rs:14-27: `_type: "EXEC_ERROR"`, `cmd`,
/// `exitCode`, `stdout`, `stderr`).
fn exec_error(chain: &[Step], leaf: &Field, exec: Option<&Field>, failure: &ExecFailure) -> Value {
    let cmd = exec.and_then(|f| f.arg_strings("args")).unwrap_or_default();
    json!({
        "data": null,
        "errors": [{
            "message": format!(
                "process \"{}\" did not complete successfully: exit code: {}",
                cmd.join(" "),
                failure.exit_code
            ),
            "locations": [{ "line": 1, "column": leaf.offset + 1 }],
            "path": response_path(chain),
            "extensions": {
                "_type": "EXEC_ERROR",
                "cmd": cmd,
                "exitCode": failure.exit_code,
                "stdout": failure.stdout,
                "stderr": failure.stderr,
            },
        }],
    })
}

// ---------------------------------------------------------------------------
// The SDK's query shape: `query{a(k:v, k:v){alias:b{... on T{leaf}}}}`.

/// One step of a selection path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Field(Field),
    /// `... on TypeName` (the SDK's `node(id:)` loads and `sync` results).
    Fragment(String),
}

/// A field with its arguments, each kept as the literal text sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub alias: Option<String>,
    pub name: String,
    /// In the order sent.
    pub args: Vec<(String, String)>,
    /// Byte offset of the field in the query text.
    pub offset: usize,
}

impl Field {
    /// The literal text of an argument (`"x"`, `["a","b"]`, `LOCKED`, `true`).
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A string argument, unescaped.
    pub fn arg_string(&self, name: &str) -> Option<String> {
        serde_json::from_str(self.arg(name)?).ok()
    }

    /// A list-of-strings argument, unescaped.
    pub fn arg_strings(&self, name: &str) -> Option<Vec<String>> {
        serde_json::from_str(self.arg(name)?).ok()
    }
}

/// The fields of a path, fragments skipped.
pub fn chain_fields(chain: &[Step]) -> impl DoubleEndedIterator<Item = &Field> {
    chain.iter().filter_map(|s| match s {
        Step::Field(f) => Some(f),
        Step::Fragment(_) => None,
    })
}

fn last_field(chain: &[Step]) -> Option<&Field> {
    chain_fields(chain).last()
}

/// `text` with every field's arguments sorted by name; `text` itself if it
/// does not parse.
pub fn canonical(text: &str) -> String {
    parse_query(text).map_or_else(|_| text.to_owned(), |chain| render(&chain))
}

fn render(chain: &[Step]) -> String {
    let parts: Vec<String> = chain
        .iter()
        .map(|step| match step {
            Step::Fragment(ty) => format!("... on {ty}"),
            Step::Field(f) => {
                let mut s = String::new();
                if let Some(alias) = &f.alias {
                    s.push_str(alias);
                    s.push(':');
                }
                s.push_str(&f.name);
                if !f.args.is_empty() {
                    let mut args: Vec<_> = f.args.iter().collect();
                    args.sort();
                    let args: Vec<String> = args.iter().map(|(n, v)| format!("{n}:{v}")).collect();
                    s.push('(');
                    s.push_str(&args.join(", "));
                    s.push(')');
                }
                s
            }
        })
        .collect();
    let mut out = String::from("query");
    for part in &parts {
        out.push('{');
        out.push_str(part);
    }
    out.push_str(&"}".repeat(parts.len()));
    out
}

/// Parses the SDK's single-path query text.
pub fn parse_query(text: &str) -> Result<Vec<Step>, String> {
    let mut p = Parser { s: text, pos: 0 };
    p.ws();
    if !p.eat("query") {
        return Err("expected `query`".into());
    }
    p.ws();
    p.expect('{')?;
    let mut steps = Vec::new();
    loop {
        p.ws();
        let offset = p.pos;
        if p.eat("...") {
            p.ws();
            if !p.eat("on") {
                return Err(format!("expected `on` at {}", p.pos));
            }
            p.ws();
            steps.push(Step::Fragment(p.name()?));
        } else {
            let first = p.name()?;
            p.ws();
            let (alias, name) = if p.eat(":") {
                p.ws();
                (Some(first), p.name()?)
            } else {
                (None, first)
            };
            p.ws();
            let args = if p.eat("(") { p.args()? } else { Vec::new() };
            steps.push(Step::Field(Field {
                alias,
                name,
                args,
                offset,
            }));
        }
        p.ws();
        if !p.eat("{") {
            break;
        }
    }
    if matches!(steps.last(), Some(Step::Fragment(_))) {
        return Err("a fragment with no selection".into());
    }
    for _ in 0..steps.len() {
        p.ws();
        p.expect('}')
            .map_err(|e| format!("{e} (only single-path queries are understood)"))?;
    }
    p.ws();
    if p.pos != p.s.len() {
        return Err(format!("trailing text at {}", p.pos));
    }
    Ok(steps)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(format!("expected `{c}` at {}", self.pos))
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 || rest.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("expected a name at {}", self.pos));
        }
        self.pos += len;
        Ok(rest[..len].to_owned())
    }

    /// After `(`: `name:value` pairs separated by `,` up to `)`.
    fn args(&mut self) -> Result<Vec<(String, String)>, String> {
        let mut args = Vec::new();
        loop {
            self.ws();
            if self.eat(")") {
                return Ok(args);
            }
            let name = self.name()?;
            self.ws();
            self.expect(':')?;
            self.ws();
            let start = self.pos;
            self.value()?;
            args.push((name, self.s[start..self.pos].to_owned()));
            self.ws();
            self.eat(",");
        }
    }

    fn value(&mut self) -> Result<(), String> {
        match self.rest().chars().next() {
            Some('"') => {
                self.pos += 1;
                let mut escaped = false;
                for (i, c) in self.rest().char_indices() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            self.pos += i + 1;
                            return Ok(());
                        }
                        _ => {}
                    }
                }
                Err("unterminated string".into())
            }
            Some(open @ ('[' | '{')) => {
                let close = if open == '[' { ']' } else { '}' };
                self.pos += 1;
                loop {
                    self.ws();
                    if self.eat(&close.to_string()) {
                        return Ok(());
                    }
                    if open == '{' {
                        self.name()?;
                        self.ws();
                        self.expect(':')?;
                        self.ws();
                    }
                    self.value()?;
                    self.ws();
                    self.eat(",");
                }
            }
            Some(_) => {
                let rest = self.rest();
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "_.+-$".contains(c)))
                    .unwrap_or(rest.len());
                if len == 0 {
                    return Err(format!("expected a value at {}", self.pos));
                }
                self.pos += len;
                Ok(())
            }
            None => Err("unexpected end of query".into()),
        }
    }
}
