//! Test results from junit XML reports, compared by test name and outcome.
//!
//! A report's bytes differ on every run (timings, host names), so parity compares what the
//! tests did instead: the same tests, by name, with the same outcomes.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

/// One test case: its name and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TestResult {
    /// The names of the enclosing test suites and of the test case, joined by ` > `, such as
    /// `test/parse.test.ts > parseTask > reads the title`.
    pub name: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    Failed,
    Error,
    Skipped,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JunitError {
    #[error("not well-formed XML: {message}")]
    Xml { message: String },
    #[error("a `testcase` element at byte {offset} has no `name` attribute")]
    UnnamedTest { offset: usize },
}

/// The test results of a junit report, sorted; `None` when the XML is not a junit report
/// (its root is neither `testsuites` nor `testsuite`).
pub fn parse(text: &str) -> Result<Option<Vec<TestResult>>, JunitError> {
    let document = roxmltree::Document::parse(text).map_err(|error| JunitError::Xml {
        message: error.to_string(),
    })?;
    let root = document.root_element();
    let root_is_suite = match root.tag_name().name() {
        "testsuite" => true,
        "testsuites" => false,
        _ => return Ok(None),
    };
    let mut results = Vec::new();
    let mut suites = Vec::new();
    if root_is_suite {
        visit(root, &mut suites, &mut results)?;
    } else {
        for child in root.children().filter(roxmltree::Node::is_element) {
            visit(child, &mut suites, &mut results)?;
        }
    }
    results.sort();
    Ok(Some(results))
}

fn visit<'a>(
    node: roxmltree::Node<'a, '_>,
    suites: &mut Vec<&'a str>,
    results: &mut Vec<TestResult>,
) -> Result<(), JunitError> {
    match node.tag_name().name() {
        "testsuite" => {
            let pushed = node.attribute("name").is_some_and(|name| {
                suites.push(name);
                true
            });
            for child in node.children().filter(roxmltree::Node::is_element) {
                visit(child, suites, results)?;
            }
            if pushed {
                suites.pop();
            }
        }
        "testcase" => {
            let name = node.attribute("name").ok_or(JunitError::UnnamedTest {
                offset: node.range().start,
            })?;
            let mut path = suites.join(" > ");
            if !path.is_empty() {
                path.push_str(" > ");
            }
            path.push_str(name);
            results.push(TestResult {
                name: path,
                outcome: outcome(node),
            });
        }
        _ => {}
    }
    Ok(())
}

/// The worst thing a test case's children report; none means it passed.
fn outcome(testcase: roxmltree::Node<'_, '_>) -> Outcome {
    let mut outcome = Outcome::Passed;
    for child in testcase.children().filter(roxmltree::Node::is_element) {
        let this = match child.tag_name().name() {
            "error" => Outcome::Error,
            "failure" => Outcome::Failed,
            "skipped" => Outcome::Skipped,
            _ => continue,
        };
        outcome = match (outcome, this) {
            (Outcome::Error, _) | (_, Outcome::Error) => Outcome::Error,
            (Outcome::Failed, _) | (_, Outcome::Failed) => Outcome::Failed,
            _ => this,
        };
    }
    outcome
}

/// A test whose outcomes differ between two reports. A name can appear more than once (a
/// parameterised test with a fixed title), so each side has every outcome of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDifference {
    pub name: String,
    pub left: Vec<Outcome>,
    pub right: Vec<Outcome>,
}

/// The tests whose outcomes differ, by name; timings and everything else are ignored.
pub fn compare(left: &[TestResult], right: &[TestResult]) -> Vec<TestDifference> {
    let mut by_name: BTreeMap<&str, (Vec<Outcome>, Vec<Outcome>)> = BTreeMap::new();
    for result in left {
        by_name
            .entry(&result.name)
            .or_default()
            .0
            .push(result.outcome);
    }
    for result in right {
        by_name
            .entry(&result.name)
            .or_default()
            .1
            .push(result.outcome);
    }
    by_name
        .into_iter()
        .filter_map(|(name, (mut left, mut right))| {
            left.sort();
            right.sort();
            (left != right).then(|| TestDifference {
                name: name.to_owned(),
                left,
                right,
            })
        })
        .collect()
}

/// `passed`, `passed, failed`, or `absent`.
pub fn outcomes(outcomes: &[Outcome]) -> String {
    if outcomes.is_empty() {
        return "absent".to_owned();
    }
    outcomes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUN_REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="4" failures="1" skipped="1" time="0.4">
  <testsuite name="test/lint.test.ts" file="test/lint.test.ts" tests="4" time="0.07" hostname="vm">
    <testsuite name="lintTask" file="test/lint.test.ts" line="9" tests="4" time="0.008" hostname="vm">
      <testcase name="a complete task has no findings" classname="lintTask" time="0.005905" file="test/lint.test.ts" line="10" assertions="1" />
      <testcase name="reports the placeholder &quot;[TBD]&quot;" classname="lintTask" time="0.00005" assertions="1" />
      <testcase name="fails" classname="lintTask" time="0.01"><failure type="AssertionError" message="expected 1" /></testcase>
      <testcase name="later" classname="lintTask" time="0"><skipped message="TODO" /></testcase>
    </testsuite>
  </testsuite>
</testsuites>
"#;

    fn result(name: &str, outcome: Outcome) -> TestResult {
        TestResult {
            name: name.to_owned(),
            outcome,
        }
    }

    #[test]
    fn names_tests_by_their_suites() {
        let results = parse(BUN_REPORT).unwrap().unwrap();
        assert_eq!(
            results,
            [
                result(
                    "test/lint.test.ts > lintTask > a complete task has no findings",
                    Outcome::Passed
                ),
                result("test/lint.test.ts > lintTask > fails", Outcome::Failed),
                result("test/lint.test.ts > lintTask > later", Outcome::Skipped),
                result(
                    "test/lint.test.ts > lintTask > reports the placeholder \"[TBD]\"",
                    Outcome::Passed
                ),
            ]
        );
    }

    #[test]
    fn timings_and_hosts_do_not_matter() {
        let other = BUN_REPORT
            .replace("0.005905", "1.5")
            .replace("hostname=\"vm\"", "hostname=\"ci-runner-7\"");
        let left = parse(BUN_REPORT).unwrap().unwrap();
        let right = parse(&other).unwrap().unwrap();
        assert_eq!(compare(&left, &right), []);
    }

    #[test]
    fn reports_changed_missing_and_extra_tests_by_name() {
        let left = parse(BUN_REPORT).unwrap().unwrap();
        let other = BUN_REPORT
            .replace(
                r#"<failure type="AssertionError" message="expected 1" />"#,
                "",
            )
            .replace("name=\"later\"", "name=\"sooner\"");
        let right = parse(&other).unwrap().unwrap();
        assert_eq!(
            compare(&left, &right),
            [
                TestDifference {
                    name: "test/lint.test.ts > lintTask > fails".into(),
                    left: vec![Outcome::Failed],
                    right: vec![Outcome::Passed],
                },
                TestDifference {
                    name: "test/lint.test.ts > lintTask > later".into(),
                    left: vec![Outcome::Skipped],
                    right: vec![],
                },
                TestDifference {
                    name: "test/lint.test.ts > lintTask > sooner".into(),
                    left: vec![],
                    right: vec![Outcome::Skipped],
                },
            ]
        );
    }

    #[test]
    fn a_repeated_name_counts_each_time() {
        let twice = [
            result("t > same", Outcome::Passed),
            result("t > same", Outcome::Passed),
        ];
        let once = [result("t > same", Outcome::Passed)];
        let difference = compare(&twice, &once);
        assert_eq!(difference.len(), 1);
        assert_eq!(outcomes(&difference[0].left), "passed, passed");
        assert_eq!(outcomes(&difference[0].right), "passed");
    }

    #[test]
    fn a_single_suite_root_and_errors() {
        let report = r#"<testsuite name="Calc"><testcase name="adds"><error message="boom"/></testcase><testcase name="bare"/></testsuite>"#;
        assert_eq!(
            parse(report).unwrap().unwrap(),
            [
                result("Calc > adds", Outcome::Error),
                result("Calc > bare", Outcome::Passed)
            ]
        );
    }

    #[test]
    fn other_xml_is_not_a_report() {
        assert_eq!(parse("<svg><g/></svg>").unwrap(), None);
        assert!(matches!(parse("<testsuite>"), Err(JunitError::Xml { .. })));
        assert_eq!(
            parse("<testsuite><testcase/></testsuite>"),
            Err(JunitError::UnnamedTest { offset: 11 })
        );
    }
}
