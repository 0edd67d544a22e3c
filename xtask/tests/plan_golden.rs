//! Golden plans: each `test_data/plans/<case>/justfile` names what to plan in `# plan:`
//! lines; the plan (or the error) must equal `expected.txt` beside it.

mod common;

use std::fmt::Write as _;

use xtask::{
    just::Just,
    justfile::Justfile,
    plan::{Invocation, Plan},
};

fn render(justfile: &Justfile, line: &str) -> String {
    let mut words = line.split_whitespace();
    let recipe = words.next().unwrap();
    let arguments: Vec<&str> = words.collect();
    let mut out = format!("$ plan {line}\n");
    match Plan::new(justfile, &[Invocation::new(recipe, &arguments)]) {
        Ok(plan) => {
            out.push_str(&plan.render_tree());
            out.push_str("steps:\n");
            for step in &plan.steps {
                let dependencies = step
                    .dependencies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                let _ = writeln!(
                    out,
                    "  {} level {} [{dependencies}] {}",
                    step.id, step.level, step.invocation
                );
            }
        }
        Err(error) => {
            let _ = writeln!(out, "error: {error}");
        }
    }
    out
}

#[test]
fn plans_match_their_golden_files() {
    let just = Just::at(&common::just_program()).unwrap();
    let cases = common::workspace_root().join("xtask/test_data/plans");
    let mut n_cases = 0;
    for entry in std::fs::read_dir(&cases).unwrap() {
        let dir = entry.unwrap().path();
        let justfile_path = dir.join("justfile");
        let text = std::fs::read_to_string(&justfile_path).unwrap();
        let justfile = Justfile::load(&just, &justfile_path).unwrap();
        let mut actual = String::new();
        for line in text
            .lines()
            .filter_map(|line| line.strip_prefix("# plan: "))
        {
            actual.push_str(&render(&justfile, line));
        }
        common::assert_golden(&dir.join("expected.txt"), &actual);
        n_cases += 1;
    }
    assert!(
        n_cases >= 7,
        "found only {n_cases} golden cases in `{}`",
        cases.display()
    );
}
