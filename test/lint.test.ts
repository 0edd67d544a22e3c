import { describe, expect, test } from "bun:test";

import { lintTask } from "../src/commands/lint.ts";
import { parseTask } from "../src/parse.ts";
import { BROKEN, FIXTURES, run, TASKS } from "./helpers.ts";

const CLEAN = "# Task #1: Clean\n## Status\nTODO\n## Priority\nLOW\n## Description\nSomething.\n";

describe("lintTask", () => {
  test("a complete task has no findings", () => {
    expect(lintTask(parseTask(CLEAN))).toEqual([]);
  });

  test("reports missing and empty required sections", () => {
    expect(lintTask(parseTask("# Task #1: T\n## Status\n\n## Description\n   \n"))).toEqual([
      { line: 1, message: "missing required section '## Priority'" },
      { line: 2, message: "required section '## Status' is empty" },
      { line: 4, message: "required section '## Description' is empty" },
    ]);
  });

  test("reports unknown status and priority values at their line", () => {
    expect(
      lintTask(parseTask("# Task #1: T\n## Status\n\nWIP\n## Priority\nP1\n## Description\nx\n")),
    ).toEqual([
      {
        line: 4,
        message: "unknown status 'WIP' (expected one of: BACKLOG, TODO, IN PROGRESS, BLOCKED, DONE)",
      },
      { line: 6, message: "unknown priority 'P1' (expected one of: LOW, MEDIUM, HIGH, CRITICAL)" },
    ]);
  });

  test.each([
    "[To be filled in]",
    "[to be written]",
    "[TBD]",
    "[TODO]",
    "[Placeholder]",
    "[insert details here]",
    "TBD",
    "tbd.",
  ])("reports the placeholder %p", (placeholder) => {
    const findings = lintTask(parseTask(`${CLEAN}\n## Notes\n\nIntro:\n${placeholder}\n`));
    expect(findings).toEqual([
      { line: 12, message: `placeholder text '${placeholder}' in section '## Notes'` },
    ]);
  });

  test.each(["- [ ] not done yet", "- [x] done", "TBD later means something", "[link](TBD)"])(
    "does not take %p for a placeholder",
    (text) => {
      expect(lintTask(parseTask(`${CLEAN}${text}\n`))).toEqual([]);
    },
  );

  test("reports duplicate sections, ignoring case", () => {
    expect(lintTask(parseTask(`${CLEAN}## notes\na\n## Notes\nb\n`))).toEqual([
      { line: 10, message: "duplicate section '## Notes' (first on line 8)" },
    ]);
  });

  test("includes the parser's diagnostics", () => {
    expect(lintTask(parseTask(CLEAN.replace("# Task #1: Clean", "# Clean")))).toEqual([
      { line: 1, message: "missing task heading '# Task #N: Title'" },
    ]);
  });
});

describe("taskmd lint", () => {
  test("clean files: no output, exit code 0", () => {
    expect(run(["lint", TASKS])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("prints file:line: message for each finding and exits 1", () => {
    expect(run(["lint", BROKEN])).toEqual({
      code: 1,
      stdout: [
        "test/fixtures/broken/a-duplicate.md:5: unknown status 'WIP' (expected one of: BACKLOG, TODO, IN PROGRESS, BLOCKED, DONE)",
        "test/fixtures/broken/a-duplicate.md:9: unknown priority 'URGENT' (expected one of: LOW, MEDIUM, HIGH, CRITICAL)",
        "test/fixtures/broken/a-duplicate.md:13: placeholder text '[To be filled in]' in section '## Description'",
        "test/fixtures/broken/b-duplicate.md:1: duplicate task id #7 (first defined in a-duplicate.md:1)",
        "test/fixtures/broken/b-duplicate.md:11: required section '## Description' is empty",
        "test/fixtures/broken/b-duplicate.md:15: placeholder text 'TBD' in section '## Notes'",
        "test/fixtures/broken/b-duplicate.md:17: duplicate section '## Notes' (first on line 13)",
        "test/fixtures/broken/c-no-heading.md:1: missing task heading '# Task #N: Title'",
        "test/fixtures/broken/c-no-heading.md:1: missing required section '## Priority'",
        "test/fixtures/broken/c-no-heading.md:1: missing required section '## Description'",
        "",
      ].join("\n"),
      stderr: "taskmd: 10 problems in 3 files\n",
    });
  });

  test("the real example file: preamble, placeholders and the duplicate section", () => {
    expect(run(["lint", FIXTURES])).toEqual({
      code: 1,
      stdout: [
        "test/fixtures/task-234-dagger-hybrid-ci.md:1: text before the task heading on line 13 is ignored",
        "test/fixtures/task-234-dagger-hybrid-ci.md:3: '## Status' before the task heading is not the task's status",
        "test/fixtures/task-234-dagger-hybrid-ci.md:7: '## Priority' before the task heading is not the task's priority",
        "test/fixtures/task-234-dagger-hybrid-ci.md:275: placeholder text '[To be filled in]' in section '## Requirements'",
        "test/fixtures/task-234-dagger-hybrid-ci.md:277: duplicate section '## Success Criteria' (first on line 162)",
        "test/fixtures/task-234-dagger-hybrid-ci.md:279: placeholder text '[To be filled in]' in section '## Success Criteria'",
        "",
      ].join("\n"),
      stderr: "taskmd: 6 problems in 1 file\n",
    });
  });

  test("a single file is counted in the singular", () => {
    const result = run(["lint", "test/fixtures/edge"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      [
        "test/fixtures/edge/untitled.md:1: task heading has no title",
        "test/fixtures/edge/untitled.md:1: missing required section '## Description'",
        "test/fixtures/edge/untitled.md:3: required section '## Status' is empty",
        "test/fixtures/edge/untitled.md:5: required section '## Priority' is empty",
        "",
      ].join("\n"),
    );
    expect(result.stderr).toBe("taskmd: 4 problems in 1 file\n");
  });

  test("paths are shown relative to the directory as given", () => {
    const result = run(["lint"], `${import.meta.dir}/fixtures/broken`);
    expect(result.stdout).toStartWith("a-duplicate.md:5: unknown status 'WIP'");
  });
});
