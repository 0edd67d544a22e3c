//! The OpenTelemetry resource: who produced the spans. Service name and version, the commit
//! and branch, and the CI run (provider, run id, workflow, job) when there is one, named after
//! the OpenTelemetry semantic conventions (`vcs.*`, `cicd.*`). `OTEL_RESOURCE_ATTRIBUTES`
//! overrides any of them, and `OTEL_SERVICE_NAME` overrides the service name.

use std::path::Path;

use opentelemetry::KeyValue;
use opentelemetry_sdk::{
    Resource,
    resource::{EnvResourceDetector, ResourceDetector, TelemetryResourceDetector},
};
use xshell::{Shell, cmd};

/// The service name unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` say otherwise.
pub(super) const SERVICE_NAME: &str = "xtask";

/// The resource for this process: ours first, then what the environment says on top.
pub(super) fn detect(project: Option<&Path>) -> Resource {
    let environment = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let mut attributes = attributes(&environment);
    if !attributes
        .iter()
        .any(|(key, _)| *key == "vcs.ref.head.revision")
    {
        attributes.extend(git_attributes(project));
    }
    let detectors: [Box<dyn ResourceDetector>; 2] = [
        Box::new(TelemetryResourceDetector),
        Box::new(EnvResourceDetector::new()),
    ];
    let mut builder = Resource::builder_empty()
        .with_attributes(
            attributes
                .into_iter()
                .map(|(key, value)| KeyValue::new(key, value)),
        )
        .with_detectors(&detectors);
    if let Some(name) = environment("OTEL_SERVICE_NAME") {
        builder = builder.with_service_name(name);
    }
    builder.build()
}

/// Our attributes, from the environment `lookup` gives (GitHub Actions and GitLab CI are
/// recognised; elsewhere only the service and the machine).
pub(super) fn attributes(lookup: &dyn Fn(&str) -> Option<String>) -> Vec<(&'static str, String)> {
    let mut attributes = vec![
        ("service.name", SERVICE_NAME.to_owned()),
        ("service.version", env!("CARGO_PKG_VERSION").to_owned()),
        ("os.type", std::env::consts::OS.to_owned()),
        ("host.arch", std::env::consts::ARCH.to_owned()),
    ];
    let mut add = |key: &'static str, value: Option<String>| {
        if let Some(value) = value {
            attributes.push((key, value));
        }
    };
    if lookup("GITHUB_ACTIONS").as_deref() == Some("true") {
        let server = lookup("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".to_owned());
        let repository = lookup("GITHUB_REPOSITORY");
        add("cicd.provider.name", Some("github-actions".to_owned()));
        add("cicd.pipeline.name", lookup("GITHUB_WORKFLOW"));
        add("cicd.pipeline.run.id", lookup("GITHUB_RUN_ID"));
        add("cicd.pipeline.run.attempt", lookup("GITHUB_RUN_ATTEMPT"));
        add("cicd.pipeline.task.name", lookup("GITHUB_JOB"));
        add(
            "cicd.pipeline.run.url.full",
            repository
                .as_ref()
                .zip(lookup("GITHUB_RUN_ID"))
                .map(|(repository, run)| format!("{server}/{repository}/actions/runs/{run}")),
        );
        add(
            "vcs.repository.url.full",
            repository.map(|repository| format!("{server}/{repository}")),
        );
        add("vcs.ref.head.revision", lookup("GITHUB_SHA"));
        // On a pull request GITHUB_REF_NAME is `123/merge`; the branch is GITHUB_HEAD_REF.
        add(
            "vcs.ref.head.name",
            lookup("GITHUB_HEAD_REF").or_else(|| lookup("GITHUB_REF_NAME")),
        );
    } else if lookup("GITLAB_CI").as_deref() == Some("true") {
        add("cicd.provider.name", Some("gitlab-ci".to_owned()));
        add("cicd.pipeline.name", lookup("CI_PIPELINE_NAME"));
        add("cicd.pipeline.run.id", lookup("CI_PIPELINE_ID"));
        add("cicd.pipeline.task.name", lookup("CI_JOB_NAME"));
        add("cicd.pipeline.run.url.full", lookup("CI_PIPELINE_URL"));
        add("vcs.repository.url.full", lookup("CI_PROJECT_URL"));
        add("vcs.ref.head.revision", lookup("CI_COMMIT_SHA"));
        add("vcs.ref.head.name", lookup("CI_COMMIT_REF_NAME"));
    } else if lookup("CI").is_some_and(|value| value != "false" && value != "0") {
        add("cicd.provider.name", Some("unknown".to_owned()));
    }
    attributes
}

/// The commit and branch of the checkout at `project` (or the current directory), when git
/// can tell.
fn git_attributes(project: Option<&Path>) -> Vec<(&'static str, String)> {
    let Ok(sh) = Shell::new() else {
        return Vec::new();
    };
    if let Some(project) = project {
        sh.change_dir(project);
    }
    let read = |command: xshell::Cmd<'_>| {
        command
            .quiet()
            .ignore_stderr()
            .read()
            .ok()
            .filter(|value| !value.is_empty())
    };
    let mut attributes = Vec::new();
    if let Some(revision) = read(cmd!(sh, "git rev-parse HEAD")) {
        attributes.push(("vcs.ref.head.revision", revision));
    }
    if let Some(branch) =
        read(cmd!(sh, "git rev-parse --abbrev-ref HEAD")).filter(|branch| branch != "HEAD")
    {
        attributes.push(("vcs.ref.head.name", branch));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(
        variables: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> {
        move |name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn github_actions_names_the_run() {
        let attributes = attributes(&lookup(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/taskmd"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_WORKFLOW", "CI"),
            ("GITHUB_JOB", "build"),
            ("GITHUB_SHA", "abc123"),
            ("GITHUB_REF_NAME", "7/merge"),
            ("GITHUB_HEAD_REF", "feature"),
        ]));
        let get = |key: &str| {
            attributes
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("service.name"), Some("xtask"));
        assert_eq!(get("cicd.provider.name"), Some("github-actions"));
        assert_eq!(get("cicd.pipeline.run.id"), Some("42"));
        assert_eq!(get("cicd.pipeline.name"), Some("CI"));
        assert_eq!(get("cicd.pipeline.task.name"), Some("build"));
        assert_eq!(
            get("cicd.pipeline.run.url.full"),
            Some("https://github.com/acme/taskmd/actions/runs/42")
        );
        assert_eq!(get("vcs.ref.head.revision"), Some("abc123"));
        assert_eq!(get("vcs.ref.head.name"), Some("feature"));
    }

    #[test]
    fn outside_ci_only_the_service_and_machine() {
        let attributes = attributes(&lookup(&[]));
        let keys: Vec<&str> = attributes.iter().map(|(key, _)| *key).collect();
        assert_eq!(
            keys,
            ["service.name", "service.version", "os.type", "host.arch"]
        );
    }
}
