//! The real `dagger-sdk` against the engine stand-in: what the SDK sends for
//! a representative pipeline, how its failures surface, and how a caller
//! turns them (including the SDK's panics) into clear errors.
//!
//! Most tests build the SDK client with explicit connection parameters
//! ([`client_for`]) instead of `dagger_sdk::connect`, which reads
//! `DAGGER_SESSION_PORT`/`DAGGER_SESSION_TOKEN` from the process
//! environment: tests run on parallel threads and must not race on it. The
//! env-var path is exercised in a child process ([`connect_via_session_env_in_a_child`]).

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
    let standin = EngineStandin::start(
        Behaviour::normal().leaf_on(BUILD_NEEDLE, "stdout", json!("built linux-x64\n")),
    );
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
        ["id", "id", "id", "id", "export", "id", "id", "id", "id", "stdout"]
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
    assert!(secret.arg("secret").unwrap().starts_with(r#""standin:secret:"#));
    assert_eq!(
        export.response,
        Some(json!({"data": {"container": {"from": {"withMountedCache": {"withDirectory":
            {"withFile": {"withWorkdir": {"withEnvVariable": {"withSecretVariable":
            {"withExec": {"directory": {"export": "/tmp/x"}}}}}}}}}}}}))
    );
    assert_eq!(export.variables, serde_json::Value::Null);
    assert!(!export.query.contains("setSecret"));
}
