//! The real `dagger-sdk` against the engine stand-in: what the SDK sends for
//! a representative pipeline, how its failures surface, and how a caller
//! turns them (including the SDK's panics) into clear errors.
//!
//! Most tests build the SDK client with explicit connection parameters
//! ([`client_for`]) instead of `dagger_sdk::connect`, which reads
//! `DAGGER_SESSION_PORT`/`DAGGER_SESSION_TOKEN` from the process
//! environment: tests run on parallel threads and must not race on it. The
//! env-var path is exercised in a child process ([`connect_via_session_env_in_a_child`]).

// dagger-sdk, and so the Dagger runner, is Unix-only (see xtask/Cargo.toml).
#![cfg(unix)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use dagger_sdk::core::config::Config;
use dagger_sdk::core::connect_params::ConnectParams;
use dagger_sdk::core::gql_client::GraphQlExtension;
use dagger_sdk::core::graphql_client::{DefaultGraphQLClient, GraphQLError};
use dagger_sdk::errors::{ConnectError, DaggerError, DaggerUnpackError};
use dagger_sdk::{
    CacheSharingMode, ContainerWithExecOptsBuilder, ContainerWithMountedCacheOptsBuilder,
    HostDirectoryOptsBuilder, Query, ReturnType, Selection,
};
use serde_json::json;
use support::engine_standin::{
    Behaviour, EngineStandin, ExecFailure, IdFault, RecordedQuery, chain_fields,
};

const BUN_IMAGE: &str = "docker.io/oven/bun:1.4.5@sha256:\
                         0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const BUILD_ARGS: [&str; 4] = ["just", "--no-deps", "build", "linux-x64"];
/// The needle that picks the build's `withExec` out of a query.
const BUILD_NEEDLE: &str = r#"withExec(args:["just","--no-deps","build","linux-x64"]"#;
const SECRET_SENTINEL: &str = "npm_SENTINEL-7f3a9c-never-on-the-wire";

/// An SDK client bound to `standin` without touching the process
/// environment. `Query`'s fields are public and `DefaultGraphQLClient::new`
/// takes the port and token directly (SDK src/client.rs:27-31 does the same
/// after `Engine::start`).
fn client_for(standin: &EngineStandin) -> Query {
    let params = ConnectParams::new(u64::from(standin.port()), standin.token());
    Query {
        proc: None,
        selection: Selection::default(),
        graphql_client: Arc::new(DefaultGraphQLClient::new(&params, &Config::default())),
    }
}

/// The representative pipeline: bun image pinned by digest, a locked cache
/// volume, the host checkout, one host file, an env var, a secret env var,
/// the build, then export of `dist` and the build's stdout.
async fn bun_build(client: &Query, export_to: &str) -> Result<String, DaggerError> {
    let cache = client.cache_volume("bun-1.4.5");
    let checkout = client.host().directory_opts(
        ".",
        HostDirectoryOptsBuilder::default()
            .exclude(vec!["target/", "node_modules/", ".git/"])
            .build()
            .expect("all fields set"),
    );
    let justfile = client.host().file("justfile");
    let build = client
        .container()
        .from(BUN_IMAGE)
        .with_mounted_cache_opts(
            "/root/.bun/install/cache",
            cache,
            ContainerWithMountedCacheOptsBuilder::default()
                .sharing(CacheSharingMode::Locked)
                .build()
                .expect("all fields set"),
        )
        .with_directory("/src", checkout)
        .with_file("/src/justfile", justfile)
        .with_workdir("/src")
        .with_env_variable("CI", "true")
        .with_secret_variable("NPM_TOKEN", client.secret("env://NPM_TOKEN"))
        .with_exec(BUILD_ARGS.to_vec());
    build.directory("/src/dist").export(export_to).await?;
    build.stdout().await
}

fn leaves(queries: &[RecordedQuery]) -> Vec<String> {
    queries.iter().map(RecordedQuery::leaf).collect()
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn pipeline_resolves_object_ids_then_sends_one_query_per_leaf() {
    let standin = EngineStandin::start(Behaviour::normal().leaf_on(
        BUILD_NEEDLE,
        "stdout",
        json!("built linux-x64\n"),
    ));
    let client = client_for(&standin);

    let stdout = bun_build(&client, "/tmp/x").await.expect("pipeline");
    assert_eq!(stdout, "built linux-x64\n");

    let queries = standin.queries();
    for q in &queries {
        eprintln!("#{} conn {} {}", q.seq, q.connection, q.query);
    }
    assert!(standin.rejected().is_empty(), "{:?}", standin.rejected());

    // Before each leaf the SDK resolves every object argument with an `{id}`
    // query of its own, in path order, one at a time; ids are not cached, so
    // the second leaf resolves them all again.
    let ids = [
        r#"query{cacheVolume(key:"bun-1.4.5"){id}}"#,
        r#"query{host{directory(exclude:["target/","node_modules/",".git/"], path:"."){id}}}"#,
        r#"query{host{file(path:"justfile"){id}}}"#,
        r#"query{secret(uri:"env://NPM_TOKEN"){id}}"#,
    ];
    let expected: Vec<&str> = ids.iter().chain(ids.iter()).copied().collect();
    let id_queries: Vec<String> = queries
        .iter()
        .filter(|q| q.is_id_query())
        .map(RecordedQuery::canonical)
        .collect();
    assert_eq!(id_queries, expected);
    assert_eq!(
        leaves(&queries),
        [
            "id", "id", "id", "id", "export", "id", "id", "id", "id", "stdout"
        ]
    );

    // No connect-time traffic (no introspection, no version query), and no
    // request reuses a connection: the SDK builds a new HTTP client per query.
    assert_eq!(queries[0].canonical(), ids[0]);
    let connections: BTreeSet<u64> = queries.iter().map(|q| q.connection).collect();
    assert_eq!(connections.len(), queries.len());

    // The export query: the whole chain in one query, ids in place of the
    // object arguments, the enum bare, the secret only by reference.
    let export = &queries[4];
    let cache_id = r#""standin:cacheVolume:"#;
    let chain = export.chain();
    let fields: Vec<&str> = chain_fields(&chain).map(|f| f.name.as_str()).collect();
    assert_eq!(
        fields,
        [
            "container",
            "from",
            "withMountedCache",
            "withDirectory",
            "withFile",
            "withWorkdir",
            "withEnvVariable",
            "withSecretVariable",
            "withExec",
            "directory",
            "export"
        ]
    );
    let mount = chain_fields(&chain)
        .find(|f| f.name == "withMountedCache")
        .unwrap();
    assert_eq!(mount.arg("sharing"), Some("LOCKED"));
    assert!(mount.arg("cache").unwrap().starts_with(cache_id));
    assert_eq!(
        mount.arg_string("path").as_deref(),
        Some("/root/.bun/install/cache")
    );
    let from = chain_fields(&chain).find(|f| f.name == "from").unwrap();
    assert_eq!(from.arg_string("address").as_deref(), Some(BUN_IMAGE));
    let secret = chain_fields(&chain)
        .find(|f| f.name == "withSecretVariable")
        .unwrap();
    assert!(
        secret
            .arg("secret")
            .unwrap()
            .starts_with(r#""standin:secret:"#)
    );
    assert_eq!(
        export.response,
        Some(
            json!({"data": {"container": {"from": {"withMountedCache": {"withDirectory":
            {"withFile": {"withWorkdir": {"withEnvVariable": {"withSecretVariable":
            {"withExec": {"directory": {"export": "/tmp/x"}}}}}}}}}}}})
        )
    );
    assert_eq!(export.variables, serde_json::Value::Null);
    assert!(!export.query.contains("setSecret"));
}

// ---------------------------------------------------------------------------
// Exec failures.

/// What a failed `withExec` reported.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ExecFailed {
    message: String,
    cmd: Vec<String>,
    exit_code: i32,
    stdout: String,
    stderr: String,
}

/// The extraction path from any error the caller holds — the SDK's
/// `DaggerError`, the `eyre::Report` that `?` makes of it inside `connect`'s
/// closure (with or without `wrap_err` context), or the `ConnectError` that
/// `connect` returns — down to the exec failure: walk `source()` to a
/// `DaggerError::Query(GraphQLError::DomainError { fields, .. })`, then take
/// the error whose `extensions` deserialized as `GraphQlExtension::ExecError`.
fn exec_failure(err: &(dyn std::error::Error + 'static)) -> Option<ExecFailed> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(DaggerError::Query(GraphQLError::DomainError { fields, .. })) =
            e.downcast_ref::<DaggerError>()
        {
            return fields.iter().find_map(|f| match &f.extensions {
                Some(GraphQlExtension::ExecError {
                    cmd,
                    exit_code,
                    stdout,
                    stderr,
                }) => Some(ExecFailed {
                    message: f.message.clone(),
                    cmd: cmd.clone(),
                    exit_code: *exit_code,
                    stdout: stdout.clone(),
                    stderr: stderr.clone(),
                }),
                _ => None,
            });
        }
        next = e.source();
    }
    None
}

#[tokio::test]
async fn exec_failure_surfaces_as_a_domain_error_carrying_the_exec_extension() {
    let standin = EngineStandin::start(
        Behaviour::normal().fail_exec(
            BUILD_NEEDLE,
            ExecFailure::new(2)
                .stdout("bun build v1.4.5\n")
                .stderr("error: Could not resolve \"react\"\n"),
        ),
    );
    let client = client_for(&standin);

    let err = bun_build(&client, "/tmp/x").await.unwrap_err();
    let expected = ExecFailed {
        message: r#"process "just --no-deps build linux-x64" did not complete successfully: exit code: 2"#.into(),
        cmd: BUILD_ARGS.map(String::from).to_vec(),
        exit_code: 2,
        stdout: "bun build v1.4.5\n".into(),
        stderr: "error: Could not resolve \"react\"\n".into(),
    };
    // Display carries the message only: stdout/stderr must be dug out.
    assert_eq!(
        err.to_string(),
        format!(
            "failed to query dagger engine: domain error: {}",
            expected.message
        )
    );
    assert_eq!(exec_failure(&err), Some(expected.clone()));

    // Inside `connect`'s closure `?` makes an eyre::Report of it ...
    let report = eyre::Report::new(err).wrap_err("bun build for linux-x64 failed");
    assert_eq!(exec_failure(report.as_ref()), Some(expected.clone()));
    assert!(report.downcast_ref::<DaggerError>().is_some());
    // ... which `connect` hands back as ConnectError::DaggerContext.
    let connect_err = ConnectError::DaggerContext(report);
    assert_eq!(exec_failure(&connect_err), Some(expected));

    // The export (first leaf) failed, so stdout was never asked for. The
    // error's wire shape is the engine's.
    let queries = standin.queries();
    assert_eq!(leaves(&queries), ["id", "id", "id", "id", "export"]);
    let error = &queries[4].response.as_ref().unwrap()["errors"][0];
    assert_eq!(
        error["extensions"],
        json!({
            "_type": "EXEC_ERROR",
            "cmd": BUILD_ARGS,
            "exitCode": 2,
            "stdout": "bun build v1.4.5\n",
            "stderr": "error: Could not resolve \"react\"\n",
        })
    );
    assert_eq!(error["path"][0], "container");
    assert_eq!(error["path"][10], "export");
}

#[tokio::test]
async fn expect_any_reports_the_exit_code_instead_of_failing() {
    let needle = r#"withExec(args:["just","test"]"#;
    let standin = EngineStandin::start(
        Behaviour::normal().fail_exec(needle, ExecFailure::new(3).stderr("1 test failed\n")),
    );
    let client = client_for(&standin);
    let base = client.container().from(BUN_IMAGE);

    let tolerant = base.with_exec_opts(
        vec!["just", "test"],
        ContainerWithExecOptsBuilder::default()
            .expect(ReturnType::Any)
            .build()
            .expect("all fields set"),
    );
    assert_eq!(tolerant.exit_code().await.unwrap(), 3);
    assert_eq!(tolerant.stderr().await.unwrap(), "1 test failed\n");
    let sent = &standin.queries()[0];
    assert!(sent.query.contains("expect:ANY"), "{}", sent.query);
    assert!(sent.query.ends_with("{exitCode}}}}"), "{}", sent.query);

    // The default (SUCCESS) fails at whatever leaf forces evaluation, `sync`
    // included.
    let strict = base.with_exec(vec!["just", "test"]);
    let Err(err) = strict.sync().await else {
        panic!("sync should fail");
    };
    assert_eq!(exec_failure(&err).map(|f| f.exit_code), Some(3));
}

#[tokio::test]
async fn sync_returns_an_id_and_later_queries_start_from_node() {
    let standin = EngineStandin::start(Behaviour::normal());
    let client = client_for(&standin);
    let built = client
        .container()
        .from(BUN_IMAGE)
        .with_exec(BUILD_ARGS.to_vec())
        .sync()
        .await
        .unwrap();
    built.stdout().await.unwrap();

    let queries = standin.queries();
    assert_eq!(queries.len(), 2);
    assert!(
        queries[0].query.ends_with("{sync}}}}"),
        "{}",
        queries[0].query
    );
    let id = queries[0].response.as_ref().unwrap()["data"]["container"]["from"]["withExec"]["sync"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        queries[1].query,
        format!(r#"query{{node(id:"{id}"){{... on Container{{stdout}}}}}}"#)
    );
}

// ---------------------------------------------------------------------------
// `{id}` failures: the SDK unwraps them (gen.rs `arg_lazy` closures,
// `into_id().await.unwrap()`), i.e. it panics in the task that awaits the
// leaf. Run pipelines on a task of their own and turn the panic into an error.

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

/// How the tool should run a pipeline: on a tokio task of its own, so a
/// panic inside the SDK becomes a clear error instead of tearing down the
/// caller.
async fn run_guarded<T: Send + 'static>(
    pipeline: impl Future<Output = eyre::Result<T>> + Send + 'static,
) -> eyre::Result<T> {
    match tokio::spawn(pipeline).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => Err(eyre::eyre!(
            "the Dagger SDK panicked (an object argument's id could not be resolved): {}",
            panic_text(&*join.into_panic())
        )),
        Err(join) => Err(eyre::eyre!(
            "the Dagger pipeline task was cancelled: {join}"
        )),
    }
}

#[tokio::test]
async fn id_error_panics_and_a_spawned_task_turns_it_into_an_error() {
    let standin =
        EngineStandin::start(Behaviour::normal().fail_id("cacheVolume", IdFault::GraphQlError));
    let client = client_for(&standin);

    let err = run_guarded(async move {
        bun_build(&client, "/tmp/x")
            .await
            .map_err(eyre::Report::new)
    })
    .await
    .unwrap_err();

    let text = err.to_string();
    assert!(text.starts_with("the Dagger SDK panicked"), "{text}");
    assert!(
        text.contains("called `Result::unwrap()` on an `Err` value: Query("),
        "{text}"
    );
    assert!(
        text.contains("injected failure resolving the id of `cacheVolume`"),
        "{text}"
    );
    // The panic struck while building the export query: it was never sent.
    let queries = standin.queries();
    assert_eq!(queries.len(), 1);
    assert!(queries[0].is_id_query());
}

#[test]
fn malformed_id_panics_and_catch_unwind_around_block_on_catches_it_too() {
    let standin = EngineStandin::start(Behaviour::normal().fail_id("host", IdFault::WrongType));
    let client = client_for(&standin);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(bun_build(&client, "/tmp/x"))
    }));

    let text = panic_text(&*caught.expect_err("the SDK should have panicked"));
    assert!(text.contains("Unpack(Deserialize("), "{text}");
    assert_eq!(
        leaves(&standin.queries()),
        ["id", "id"],
        "cache volume resolved, host directory malformed, nothing after"
    );
}

#[tokio::test]
async fn unpack_error_of_a_leaf_is_an_error_not_a_panic() {
    let standin = EngineStandin::start(Behaviour::normal().leaf("stdout", json!(7)));
    let client = client_for(&standin);
    let err = client
        .container()
        .from(BUN_IMAGE)
        .with_exec(vec!["true"])
        .stdout()
        .await
        .unwrap_err();
    assert!(
        matches!(err, DaggerError::Unpack(DaggerUnpackError::Deserialize(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn null_data_without_errors_panics_even_for_a_leaf() {
    let standin = EngineStandin::start(Behaviour::normal().raw_on("stdout", json!({"data": null})));
    let client = client_for(&standin);
    let err = run_guarded(async move {
        client
            .container()
            .from(BUN_IMAGE)
            .stdout()
            .await
            .map_err(eyre::Report::new)
    })
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("called `Option::unwrap()` on a `None` value"),
        "{err}"
    );
}

#[tokio::test]
async fn error_extensions_without_type_make_the_whole_answer_unparsable() {
    // Any `extensions` object must carry `_type` for this SDK (serde
    // internally tagged enum, SDK src/core/gql_client.rs:14-27): without it
    // the response fails to parse and the error degrades to an HttpError
    // whose text embeds the raw body.
    let body = json!({"data": null, "errors": [{"message": "boom", "extensions": {"code": "X"}}]});
    let standin = EngineStandin::start(Behaviour::normal().raw_on("stdout", body));
    let client = client_for(&standin);
    let err = client
        .container()
        .from(BUN_IMAGE)
        .stdout()
        .await
        .unwrap_err();
    match &err {
        DaggerError::Query(GraphQLError::HttpError(text)) => {
            assert!(text.contains("Failed to parse response"), "{text}");
            assert!(text.contains("boom"), "{text}");
        }
        other => panic!("expected an HttpError, got {other:?}"),
    }
    assert_eq!(exec_failure(&err), None);
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_recorded() {
    let standin = EngineStandin::start(Behaviour::normal());
    let params = ConnectParams::new(u64::from(standin.port()), "not-the-token");
    let client = Query {
        proc: None,
        selection: Selection::default(),
        graphql_client: Arc::new(DefaultGraphQLClient::new(&params, &Config::default())),
    };
    let err = client
        .container()
        .from(BUN_IMAGE)
        .stdout()
        .await
        .unwrap_err();
    assert!(matches!(err, DaggerError::Query(_)), "{err:?}");
    assert!(standin.queries().is_empty());
    let rejected = standin.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].status, 401);
}

// ---------------------------------------------------------------------------
// Concurrency and determinism.

#[tokio::test]
async fn concurrent_branches_are_in_flight_at_the_same_time() {
    let standin = EngineStandin::start(Behaviour::normal().delay(Duration::from_millis(300)));
    let client = client_for(&standin);
    let base = client.container().from(BUN_IMAGE).with_workdir("/src");
    let lint = base.with_exec(vec!["just", "lint"]);
    let test = base.with_exec(vec!["just", "test"]);

    let started = std::time::Instant::now();
    let (a, b) = tokio::join!(lint.stdout(), test.stdout());
    a.unwrap();
    b.unwrap();
    assert!(started.elapsed() < Duration::from_millis(550));
    let queries = standin.queries();
    assert_eq!(queries.len(), 2);
    assert!(queries[0].overlaps(&queries[1]));
    assert_ne!(queries[0].connection, queries[1].connection);

    // One after the other, they do not overlap.
    lint.stderr().await.unwrap();
    test.stderr().await.unwrap();
    let queries = standin.queries();
    assert!(!queries[2].overlaps(&queries[3]));
}

#[tokio::test]
async fn identical_runs_send_identical_canonical_queries() {
    async fn run() -> Vec<RecordedQuery> {
        let standin = EngineStandin::start(Behaviour::normal());
        bun_build(&client_for(&standin), "/tmp/x").await.unwrap();
        standin.queries()
    }
    let first = run().await;
    let second = run().await;
    let canonical =
        |qs: &[RecordedQuery]| qs.iter().map(RecordedQuery::canonical).collect::<Vec<_>>();
    assert_eq!(canonical(&first), canonical(&second));

    // The raw text is not stable: each field's arguments sit in a HashMap
    // (SDK src/querybuilder.rs:52,155) whose iteration order is seeded anew
    // for every selection built.
    let standin = EngineStandin::start(Behaviour::normal());
    let client = client_for(&standin);
    for _ in 0..40 {
        client
            .container()
            .with_mounted_cache_opts(
                "/root/.bun/install/cache",
                client.cache_volume("bun-1.4.5"),
                ContainerWithMountedCacheOptsBuilder::default()
                    .sharing(CacheSharingMode::Locked)
                    .build()
                    .expect("all fields set"),
            )
            .stdout()
            .await
            .unwrap();
    }
    let leaves: Vec<RecordedQuery> = standin
        .queries()
        .into_iter()
        .filter(|q| !q.is_id_query())
        .collect();
    let raw: BTreeSet<&str> = leaves.iter().map(|q| q.query.as_str()).collect();
    let canonical: BTreeSet<String> = leaves.iter().map(RecordedQuery::canonical).collect();
    assert_eq!(canonical.len(), 1);
    assert!(raw.len() > 1, "40 builds, one argument order: {raw:?}");
}

// ---------------------------------------------------------------------------
// `dagger_sdk::connect` through DAGGER_SESSION_PORT/TOKEN, in a child
// process (this test binary, re-run on the ignored test below).

const CHILD_TEST: &str = "child_connects_through_session_env";

#[test]
fn connect_via_session_env_in_a_child() {
    let standin = EngineStandin::start(Behaviour::normal().leaf_on(
        BUILD_NEEDLE,
        "stdout",
        json!("built linux-x64\n"),
    ));
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD_TEST,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(standin.env())
        .env("STANDIN_CHILD", "1")
        .env("NPM_TOKEN", SECRET_SENTINEL)
        .env(
            "TRACEPARENT",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .env_remove("_EXPERIMENTAL_DAGGER_CLI_BIN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(r#"child stdout: "built linux-x64\n""#),
        "{stdout}"
    );

    let queries = standin.queries();
    // `connect` itself sent nothing (no introspection, no version check).
    assert_eq!(queries.len(), 10);
    assert_eq!(
        queries[0].canonical(),
        r#"query{cacheVolume(key:"bun-1.4.5"){id}}"#
    );
    for q in &queries {
        // The secret's value never travels: only `env://NPM_TOKEN` does.
        assert!(!q.sent_contains(SECRET_SENTINEL), "{q:?}");
        // No trace context is propagated to the session.
        assert!(!q.sent_contains("traceparent"), "{q:?}");
        assert!(
            !q.sent_contains("0af7651916cd43dd8448eb211c80319c"),
            "{q:?}"
        );
    }
    let headers: BTreeSet<&str> = queries[0].headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        headers,
        BTreeSet::from([
            "accept",
            "authorization",
            "content-length",
            "content-type",
            "host"
        ])
    );
}

#[test]
#[ignore = "child half of connect_via_session_env_in_a_child"]
fn child_connects_through_session_env() {
    if std::env::var_os("STANDIN_CHILD").is_none() {
        return; // run by hand: without a stand-in, `connect` would look for a CLI.
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(dagger_sdk::connect(|client| async move {
        let stdout = bun_build(&client, "/tmp/x").await?;
        println!("child stdout: {stdout:?}");
        Ok(())
    }))
    .unwrap();
}

// ---------------------------------------------------------------------------
// Avoiding the panic path altogether.

/// The representative pipeline with its object arguments resolved up front:
/// `.id().await` returns a `Result`, and an `Id` passed as an argument needs
/// no further query (`impl IntoID<Id> for Id`, SDK src/gen.rs:42-48).
async fn bun_build_with_resolved_ids(client: &Query, export_to: &str) -> eyre::Result<String> {
    let cache = client.cache_volume("bun-1.4.5").id().await?;
    let checkout = client
        .host()
        .directory_opts(
            ".",
            HostDirectoryOptsBuilder::default()
                .exclude(vec!["target/", "node_modules/", ".git/"])
                .build()
                .expect("all fields set"),
        )
        .id()
        .await?;
    let justfile = client.host().file("justfile").id().await?;
    let npm_token = client.secret("env://NPM_TOKEN").id().await?;
    let build = client
        .container()
        .from(BUN_IMAGE)
        .with_mounted_cache_opts(
            "/root/.bun/install/cache",
            cache,
            ContainerWithMountedCacheOptsBuilder::default()
                .sharing(CacheSharingMode::Locked)
                .build()
                .expect("all fields set"),
        )
        .with_directory("/src", checkout)
        .with_file("/src/justfile", justfile)
        .with_workdir("/src")
        .with_env_variable("CI", "true")
        .with_secret_variable("NPM_TOKEN", npm_token)
        .with_exec(BUILD_ARGS.to_vec());
    build.directory("/src/dist").export(export_to).await?;
    Ok(build.stdout().await?)
}

#[tokio::test]
async fn pre_resolved_ids_turn_id_failures_into_errors_and_save_round_trips() {
    let failing =
        EngineStandin::start(Behaviour::normal().fail_id("cacheVolume", IdFault::GraphQlError));
    let err = bun_build_with_resolved_ids(&client_for(&failing), "/tmp/x")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<DaggerError>(),
            Some(DaggerError::Query(GraphQLError::DomainError { .. }))
        ),
        "{err:?}"
    );

    let standin = EngineStandin::start(Behaviour::normal());
    bun_build_with_resolved_ids(&client_for(&standin), "/tmp/x")
        .await
        .unwrap();
    // 4 ids once, then the two leaves: 6 queries instead of 10, and the same
    // pipeline queries as the lazily resolved form.
    let queries = standin.queries();
    assert_eq!(
        leaves(&queries),
        ["id", "id", "id", "id", "export", "stdout"]
    );
    let lazy = EngineStandin::start(Behaviour::normal());
    bun_build(&client_for(&lazy), "/tmp/x").await.unwrap();
    let lazy = lazy.queries();
    assert_eq!(queries[4].canonical(), lazy[4].canonical());
    assert_eq!(queries[5].canonical(), lazy[9].canonical());
}

#[test]
fn connect_future_is_send_so_the_whole_session_can_run_on_a_spawned_task() {
    fn assert_send<T: Send>(_: &T) {}
    let session = dagger_sdk::connect(|client| async move {
        bun_build(&client, "/tmp/x").await?;
        Ok(())
    });
    assert_send(&session);
    // Dropped unpolled: nothing ran, no engine was looked for.
}
