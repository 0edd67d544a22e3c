//! The thin half of the Dagger runner: a [`Pipeline`](super::pipeline::Pipeline)'s parts as
//! dagger-sdk builder calls. Every function here is synchronous and lazy (nothing reaches the
//! engine until a caller awaits a leaf), and every object argument is an [`Id`] resolved
//! beforehand with `.id().await?`: the SDK resolves objects passed by value with an
//! `unwrap()` that panics on any engine error (see `docs/dagger-sdk-notes.md`).

use std::{collections::BTreeMap, path::Path};

use dagger_sdk::{
    CacheSharingMode, Container, ContainerWithDirectoryOptsBuilder,
    ContainerWithMountedCacheOptsBuilder, Directory, DirectoryFilterOptsBuilder, File,
    HostDirectoryOptsBuilder, Id, Query,
};

use super::pipeline::{ContainerSpec, SOURCE_DIR, Sharing, SourceSpec, ToolInstall};

/// Object ids every step uses, resolved once per run.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub just: Id,
    pub bun: Id,
    /// By volume name.
    pub caches: BTreeMap<String, Id>,
    /// By environment variable name.
    pub secrets: BTreeMap<String, Id>,
}

/// The installed program of a toolchain stage: `tool.install` run in `tool.stage_image`.
pub fn tool_file(client: &Query, tool: &ToolInstall) -> File {
    client
        .container()
        .from(tool.stage_image.as_str())
        .with_exec(tool.install.clone())
        .file(tool.file.as_str())
}

/// `image` with the pinned tools copied in: the base of every step container.
pub fn with_toolchain(client: &Query, image: &str, just: &Id, bun: &Id) -> Container {
    client
        .container()
        .from(image)
        .with_file(super::pipeline::JUST_PATH, just.clone())
        .with_file(super::pipeline::BUN_PATH, bun.clone())
}

/// A toolchain check: `base` running `tool.check`, whose stdout names the version.
pub fn tool_check(base: &Container, tool: &ToolInstall) -> Container {
    base.with_exec(tool.check.clone())
}

pub fn cache_volume(client: &Query, volume: &str) -> dagger_sdk::CacheVolume {
    client.cache_volume(volume)
}

/// The secret that the session's client reads from its environment variable `name`; only
/// this reference travels, never the value.
pub fn secret(client: &Query, name: &str) -> dagger_sdk::Secret {
    client.secret(format!("env://{name}"))
}

/// The project directory on the host, filtered as `source` says.
pub fn host_source(client: &Query, project_root: &Path, source: &SourceSpec) -> Directory {
    let path = if source.host == "." {
        project_root.to_owned()
    } else {
        project_root.join(&source.host)
    };
    let path = path.to_string_lossy();
    let mut options = HostDirectoryOptsBuilder::default();
    options.exclude(
        source
            .exclude
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    if !source.include.is_empty() {
        options.include(
            source
                .include
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    }
    client.host().directory_opts(
        path.as_ref(),
        options.build().expect("every option has a default"),
    )
}

/// The project directory inside a step's container, to copy its outputs from.
pub fn source_dir(container: &Container) -> Directory {
    container.directory(SOURCE_DIR)
}

/// The step's container, up to and including its command. `source` is the host directory,
/// `copies` the source directories of the steps it takes files from, with the paths to take.
pub fn step_container(
    client: &Query,
    spec: &ContainerSpec,
    resolved: &Resolved,
    source: &Id,
    copies: &[(Id, Vec<String>)],
) -> Container {
    let mut container = with_toolchain(client, &spec.image, &resolved.just, &resolved.bun);
    for cache in &spec.caches {
        let sharing = match cache.sharing {
            Sharing::Shared => CacheSharingMode::Shared,
            Sharing::Locked => CacheSharingMode::Locked,
        };
        container = container.with_mounted_cache_opts(
            cache.path.as_str(),
            resolved.caches[&cache.volume].clone(),
            ContainerWithMountedCacheOptsBuilder::default()
                .sharing(sharing)
                .build()
                .expect("every option has a default"),
        );
    }
    for (name, value) in &spec.env {
        container = container.with_env_variable(name.as_str(), value.as_str());
    }
    container = container
        .with_workdir(spec.workdir.as_str())
        .with_directory(spec.workdir.as_str(), source.clone());
    for (directory, paths) in copies {
        container = container.with_directory_opts(
            spec.workdir.as_str(),
            directory.clone(),
            ContainerWithDirectoryOptsBuilder::default()
                .include(paths.iter().map(String::as_str).collect::<Vec<_>>())
                .build()
                .expect("every option has a default"),
        );
    }
    for name in &spec.secrets {
        container = container.with_secret_variable(name.as_str(), resolved.secrets[name].clone());
    }
    container.with_exec(spec.command.clone())
}

/// The declared outputs in a finished step's project directory, and nothing else.
pub fn outputs(finished: &Container, exports: &[String]) -> Directory {
    source_dir(finished).filter_opts(
        DirectoryFilterOptsBuilder::default()
            .include(exports.iter().map(String::as_str).collect::<Vec<_>>())
            .build()
            .expect("every option has a default"),
    )
}
