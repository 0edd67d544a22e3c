//! `gen-ci`: writes the GitHub Actions workflows from the justfile; with `--check` it writes
//! nothing and fails while a committed workflow differs, as rust-analyzer's codegen does.

use std::{fs, io::Write as _, path::Path};

use clap::CommandFactory;
use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use tracing::info;

use crate::{
    flags::{GenCi, Global, Xtask},
    just::Just,
    justfile::Justfile,
    project::Project,
    tools::{self, Provision, bootstrap_just_pin},
    troubleshooting::Topic,
    workflow::{self, CiJob, Pins, Workflow},
};

impl GenCi {
    pub fn run(self, global: &Global) -> Result<()> {
        let project = Project::open(global.project.as_deref())?;
        let workflows = render(&project)?;
        if self.check {
            return check(&project, &workflows);
        }
        for workflow in &workflows {
            let path = project.root.join(&workflow.path);
            if fs::read_to_string(&path).is_ok_and(|text| text == workflow.text) {
                println!("{} is up to date", workflow.path);
                continue;
            }
            write_atomically(&path, &workflow.text)?;
            println!("wrote {}", workflow.path);
        }
        Ok(())
    }
}

/// The workflows the project's justfile calls for. Only just is needed, not bun.
fn render(project: &Project) -> Result<Vec<Workflow>> {
    let text = fs::read_to_string(&project.justfile)
        .wrap_err_with(|| format!("cannot read `{}`", project.justfile.display()))?;
    let pin = bootstrap_just_pin(&text);
    let tool = tools::provide(project, "just", pin.as_deref(), Provision::Install)?;
    let just = Just {
        program: tool.program,
        version: tool.version,
    };
    let justfile = Justfile::load(&just, &project.justfile)?;
    let lock_path = project.root.join("Cargo.lock");
    let cargo_lock = match fs::read_to_string(&lock_path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            return Err(error).wrap_err_with(|| format!("cannot read `{}`", lock_path.display()));
        }
    };
    let pins = Pins::of(&justfile, cargo_lock.as_deref())?;
    let jobs = CiJob::all(&justfile, &Xtask::command())?;
    info!(
        n_jobs = jobs.len(),
        dagger = %pins.dagger,
        "rendering the workflows"
    );
    Ok(workflow::render(&jobs, &pins)?)
}

/// Fails naming every workflow that differs from what `gen-ci` would write, and where.
fn check(project: &Project, workflows: &[Workflow]) -> Result<()> {
    let mut stale = Vec::new();
    for workflow in workflows {
        let path = project.root.join(&workflow.path);
        match fs::read_to_string(&path) {
            Ok(text) if text == workflow.text => {}
            Ok(text) => stale.push(format!(
                "`{}` differs {}",
                workflow.path,
                first_difference(&text, &workflow.text)
            )),
            Err(_) => stale.push(format!("`{}` is missing", workflow.path)),
        }
    }
    if stale.is_empty() {
        println!("{} workflows are up to date", workflows.len());
        return Ok(());
    }
    bail!(Topic::WorkflowsOutOfDate.error(format!(
        "the workflows are out of date with the justfile; run `cargo xtask gen-ci` locally and commit the result\n{}",
        stale.join("\n")
    )))
}

/// Where `actual` first departs from `expected`, and what each has there.
fn first_difference(actual: &str, expected: &str) -> String {
    let mut actual_lines = actual.lines();
    let mut expected_lines = expected.lines();
    for number in 1.. {
        match (actual_lines.next(), expected_lines.next()) {
            (Some(a), Some(e)) if a == e => {}
            (Some(a), Some(e)) => {
                return format!(
                    "at line {number}: has `{}`, gen-ci writes `{}`",
                    a.trim(),
                    e.trim()
                );
            }
            (None, Some(e)) => {
                return format!("at line {number}: ends early, gen-ci writes `{}`", e.trim());
            }
            (Some(a), None) => {
                return format!("at line {number}: has `{}` after the end", a.trim());
            }
            (None, None) => break,
        }
    }
    "in its line endings".to_owned()
}

/// Writes `path` whole or not at all: a temporary file beside it, renamed over it.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create `{}`", dir.display()))?;
    #[cfg_attr(not(unix), expect(unused_mut))]
    let mut builder = tempfile::Builder::new();
    // Readable by all, as git checks files out; a temporary file would be private.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut file = builder
        .tempfile_in(dir)
        .wrap_err_with(|| format!("cannot create a file in `{}`", dir.display()))?;
    file.write_all(text.as_bytes())
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
    file.persist(path)
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_difference() {
        assert_eq!(
            first_difference("a\nb\n", "a\nc\n"),
            "at line 2: has `b`, gen-ci writes `c`"
        );
        assert_eq!(
            first_difference("a\n", "a\nc\n"),
            "at line 2: ends early, gen-ci writes `c`"
        );
        assert_eq!(
            first_difference("a\nb\n", "a\n"),
            "at line 2: has `b` after the end"
        );
        assert_eq!(first_difference("a\r\n", "a\n"), "in its line endings");
    }
}
