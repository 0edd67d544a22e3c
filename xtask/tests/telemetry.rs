//! Observability of a run, end to end through the real binary: spans received by an OTLP
//! collector (one per step, with the right parents, resource and incoming `TRACEPARENT`), JSON
//! logs, the run report and the GitHub Actions summary, and a collector that is not there.

mod common;
mod otlp;

use std::{collections::BTreeSet, path::Path, process::Stdio, time::Duration};

use otlp::{ReceivedSpan, Receiver};

/// Echo recipes: `ci` runs `check` and two builds after `prepare`. `check` writes down the
/// `TRACEPARENT` it was given and, when `FAIL_CHECK` is set, fails with exit code 3.
const JUSTFILE: &str = r#"
set shell := ["bash", "-euo", "pipefail", "-c"]

prepare:
    echo preparing

check: prepare
    echo "${TRACEPARENT:-none}" > check-traceparent.txt
    echo checking; echo "a warning" >&2
    if [ -n "${FAIL_CHECK:-}" ]; then echo "check found a problem"; exit 3; fi

build target: prepare
    echo building {{target}}

[parallel]
ci: check (build "a") (build "b")
"#;

/// The xtask on `project` with nothing of this process's telemetry settings leaking in.
fn xtask(project: &Path) -> assert_cmd::Command {
    let mut command = common::xtask(project);
    for variable in [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SDK_DISABLED",
        "TRACEPARENT",
        "TRACESTATE",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_SHA",
        "GITHUB_REF_NAME",
        "GITHUB_HEAD_REF",
        "GITHUB_RUN_ID",
        "GITHUB_WORKFLOW",
        "GITHUB_JOB",
        "XTASK_LOG_FORMAT",
    ] {
        command.env_remove(variable);
    }
    command
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let matching: Vec<&ReceivedSpan> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one span `{name}` in\n{}",
        otlp::render_tree(spans, &[])
    );
    matching[0]
}

#[test]
fn every_step_is_a_span_under_the_run_under_the_command() {
    let receiver = Receiver::start();
    let project = common::project(JUSTFILE);
    let summary = project.path().join("summary.md");
    xtask(project.path())
        .args(["ci", "--runner", "local", "--jobs", "2"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env(
            "OTEL_RESOURCE_ATTRIBUTES",
            "team=build,service.namespace=taskmd",
        )
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_REPOSITORY", "acme/taskmd")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_WORKFLOW", "CI")
        .env("GITHUB_JOB", "pipeline")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_REF_NAME", "main")
        .assert()
        .success();

    let spans = receiver.spans();
    let tree = otlp::render_tree(&spans, &["xtask.status"]);
    let command = by_name(&spans, "xtask ci");
    let plan = by_name(&spans, "plan");
    let run = by_name(&spans, "run");
    assert_eq!(
        command.parent_span_id, "",
        "the command is the root\n{tree}"
    );
    assert_eq!(plan.parent_span_id, command.span_id, "{tree}");
    assert_eq!(run.parent_span_id, command.span_id, "{tree}");
    assert_eq!(run.attribute("xtask.runner"), Some("local"));

    // One span per step, each a child of the run.
    let steps: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.attributes.contains_key("xtask.recipe"))
        .collect();
    let names: BTreeSet<&str> = steps.iter().map(|span| span.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "step build a",
            "step build b",
            "step check",
            "step ci",
            "step prepare"
        ]),
        "{tree}"
    );
    assert_eq!(steps.len(), 5, "{tree}");
    for step in &steps {
        assert_eq!(step.parent_span_id, run.span_id, "{tree}");
        assert_eq!(step.attribute("xtask.runner"), Some("local"));
        assert_eq!(step.attribute("xtask.status"), Some("ok"));
        for key in [
            "xtask.duration_ms",
            "xtask.queue_wait_ms",
            "xtask.level",
            "xtask.recipe",
        ] {
            assert!(step.attributes.contains_key(key), "{key} on {step:?}");
        }
        assert!(step.events.iter().any(|event| event == "start"));
        assert!(step.events.iter().any(|event| event == "end"));
    }
    let build_a = by_name(&spans, "step build a");
    assert_eq!(build_a.attribute("xtask.recipe"), Some("build"));
    assert_eq!(build_a.attribute("xtask.arguments"), Some("a"));
    assert!(
        spans.iter().all(|span| span.trace_id == command.trace_id),
        "one trace\n{tree}"
    );

    assert_github_resource(&command.resource);

    // The recipe was handed its step's trace context.
    let check = by_name(&spans, "step check");
    let handed = std::fs::read_to_string(project.path().join("check-traceparent.txt")).unwrap();
    assert_eq!(
        handed.trim(),
        format!("00-{}-{}-01", check.trace_id, check.span_id)
    );

    // The run report names the trace.
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join("reports/xtask-run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["trace_id"], command.trace_id.as_str());
}

/// The resource of the run in `every_step_is_a_span_under_the_run_under_the_command`: ours,
/// GitHub's run, and `OTEL_RESOURCE_ATTRIBUTES` on top.
fn assert_github_resource(resource: &std::collections::BTreeMap<String, String>) {
    let expect = [
        ("service.name", "xtask"),
        ("service.version", env!("CARGO_PKG_VERSION")),
        ("cicd.provider.name", "github-actions"),
        ("cicd.pipeline.name", "CI"),
        ("cicd.pipeline.run.id", "4242"),
        ("cicd.pipeline.task.name", "pipeline"),
        (
            "cicd.pipeline.run.url.full",
            "https://github.com/acme/taskmd/actions/runs/4242",
        ),
        (
            "vcs.ref.head.revision",
            "0123456789abcdef0123456789abcdef01234567",
        ),
        ("vcs.ref.head.name", "main"),
        ("team", "build"),
        ("service.namespace", "taskmd"),
    ];
    for (key, value) in expect {
        assert_eq!(
            resource.get(key).map(String::as_str),
            Some(value),
            "{key} in {resource:?}"
        );
    }
}

#[test]
fn an_incoming_traceparent_is_the_parent_of_the_command() {
    let receiver = Receiver::start();
    let project = common::project(JUSTFILE);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    xtask(project.path())
        .args(["ci", "--runner", "local"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_SERVICE_NAME", "taskmd-ci")
        .env("TRACEPARENT", format!("00-{trace_id}-{parent_id}-01"))
        .assert()
        .success();
    let spans = receiver.spans();
    let command = by_name(&spans, "xtask ci");
    assert_eq!(command.parent_span_id, parent_id);
    assert!(spans.iter().all(|span| span.trace_id == trace_id));
    assert_eq!(
        command.resource.get("service.name").map(String::as_str),
        Some("taskmd-ci")
    );
}

#[test]
fn a_failed_step_is_an_error_span_and_so_is_the_command() {
    let receiver = Receiver::start();
    let project = common::project(JUSTFILE);
    xtask(project.path())
        .args(["ci", "--runner", "local"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("FAIL_CHECK", "1")
        .assert()
        .code(1);
    let spans = receiver.spans();
    let check = by_name(&spans, "step check");
    assert_eq!(check.status, 2, "error status: {check:?}");
    assert_eq!(check.attribute("xtask.exit_code"), Some("3"));
    assert_eq!(check.attribute("xtask.status"), Some("FAILED"));
    let command = by_name(&spans, "xtask ci");
    assert_eq!(command.status, 2);
    assert_eq!(command.attribute("xtask.exit_code"), Some("1"));
}

#[test]
fn an_unreachable_collector_warns_once_and_the_run_passes() {
    // A port nobody listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let project = common::project(JUSTFILE);
    let output = xtask(project.path())
        .args(["ci", "--runner", "local"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{address}"))
        // One span per export request, sent at once: many failed exports, still one warning.
        .env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1")
        .env("OTEL_BSP_SCHEDULE_DELAY", "1")
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("cannot export traces to").count(),
        1,
        "one warning:\n{stderr}"
    );
}

#[test]
fn bad_telemetry_settings_are_warnings_not_failures() {
    let receiver = Receiver::start();
    let project = common::project(JUSTFILE);
    let output = xtask(project.path())
        .args(["ci", "--runner", "local"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("TRACEPARENT", "not-a-traceparent")
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("`grpc` is not supported").count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("ignoring TRACEPARENT").count(),
        1,
        "{stderr}"
    );
    assert_eq!(receiver.requests(), 0);
}

#[test]
fn doctor_says_whether_dagger_cloud_tracing_is_on_without_printing_the_token() {
    let project = common::project(JUSTFILE);
    let token = "dag_secret_token_value";
    let on = xtask(project.path())
        .arg("doctor")
        .env("DAGGER_CLOUD_TOKEN", token)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&on.stdout);
    assert!(
        stdout.contains("cloud     Dagger Cloud tracing on"),
        "{stdout}"
    );
    assert!(
        stdout.contains("traces    exported to http://127.0.0.1:1/v1/traces"),
        "{stdout}"
    );
    let everything = format!("{stdout}{}", String::from_utf8_lossy(&on.stderr));
    assert!(
        !everything.contains(token),
        "the token leaked:\n{everything}"
    );

    let off = xtask(project.path())
        .arg("doctor")
        .env_remove("DAGGER_CLOUD_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&off.stdout);
    assert!(
        stdout.contains("cloud     Dagger Cloud tracing off"),
        "{stdout}"
    );
    assert!(stdout.contains("traces    not exported"), "{stdout}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let project = common::project(JUSTFILE);
    let output = xtask(project.path())
        .args(["ci", "--runner", "local", "--log-format", "json"])
        .env("FAIL_CHECK", "1")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect();
    let message = |line: &serde_json::Value| line["fields"]["message"].as_str().map(str::to_owned);
    // The step events carry their span; recipe output is an event of its own.
    assert!(lines.iter().any(|line| {
        message(line).as_deref() == Some("start") && line["span"]["step"] == "check"
    }));
    assert!(lines.iter().any(|line| {
        message(line).as_deref() == Some("a warning") && line["fields"]["stream"] == "stderr"
    }));
    assert!(
        lines
            .iter()
            .any(|line| message(line).as_deref() == Some("summary"))
    );
    assert!(lines.iter().any(|line| line["level"] == "ERROR"
        && message(line).is_some_and(|text| text.contains("exit code 3"))));
    // Only command results go to stdout, and a run has none.
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
}

/// Replaces what changes from run to run in the run report.
fn normalise_report(report: &mut serde_json::Value) {
    for key in ["started_at", "duration_ms"] {
        report[key] = "[volatile]".into();
    }
    for key in ["busy_ms", "queue_wait_ms"] {
        report["totals"][key] = "[volatile]".into();
    }
    for key in ["name", "os", "arch", "cores"] {
        report["host"][key] = "[host]".into();
    }
    for step in report["steps"].as_array_mut().unwrap() {
        // A failed step's last lines come from two pipes (the recipe's stdout, and just's
        // echo and error on stderr), read concurrently: their interleaving is not fixed.
        if let Some(detail) = step["detail"].as_str()
            && let Some((first, last_lines)) = detail.split_once('\n')
        {
            let mut lines: Vec<&str> = last_lines.lines().collect();
            lines.sort_unstable();
            step["detail"] = format!("{first}\n{}", lines.join("\n")).into();
        }
        if step["started_at"].is_null() {
            continue;
        }
        for key in [
            "started_at",
            "start_offset_ms",
            "duration_ms",
            "queue_wait_ms",
        ] {
            step[key] = "[volatile]".into();
        }
    }
}

/// Replaces the durations (`1.2 s`) of the step summary.
fn normalise_summary(summary: &str) -> String {
    let mut out = Vec::new();
    for word in summary.split(' ') {
        let is_seconds = word.contains('.')
            && word
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        out.push(if is_seconds { "[t]" } else { word });
    }
    out.join(" ")
}

#[test]
fn the_run_report_and_the_step_summary_of_a_failed_run() {
    let project = common::project(JUSTFILE);
    let summary = project.path().join("summary.md");
    let output = xtask(project.path())
        .args(["ci", "--runner", "local", "--keep-going", "--jobs", "1"])
        .env("FAIL_CHECK", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("::error title=step `check` failed::recipe `check` failed with exit code 3; its last lines:%0A"),
        "{stdout}"
    );
    assert!(stdout.contains("::group::check\n"), "{stdout}");

    let mut report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join("reports/xtask-run.json")).unwrap(),
    )
    .unwrap();
    normalise_report(&mut report);
    insta::assert_snapshot!("run_report", serde_json::to_string_pretty(&report).unwrap());
    insta::assert_snapshot!(
        "step_summary",
        normalise_summary(&std::fs::read_to_string(&summary).unwrap())
    );
    // Nothing half-written is left beside the report.
    let entries: Vec<String> = std::fs::read_dir(project.path().join("reports"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["xtask-run.json"]);
}

#[test]
fn ctrl_c_cancels_the_steps_and_still_flushes_the_spans() {
    let receiver = Receiver::start();
    let project = common::project("ci:\n    touch started\n    sleep 30\n");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["ci", "--runner", "local", "--project"])
        .arg(project.path())
        .env("PATH", common::path_with_just())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("TRACEPARENT")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = project.path().join("started");
    for _ in 0..600 {
        if started.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(started.exists(), "the recipe never started");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let spans = receiver.spans();
    let step = by_name(&spans, "step ci");
    assert_eq!(step.attribute("xtask.status"), Some("cancelled"));
    let command = by_name(&spans, "xtask ci");
    assert_eq!(command.attribute("xtask.exit_code"), Some("130"));
}
