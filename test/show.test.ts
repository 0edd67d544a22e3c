import { describe, expect, test } from "bun:test";

import { FIXTURES, run, TASKS } from "./helpers.ts";

describe("taskmd show", () => {
  test("prints the header, the intro and every section but Status and Priority", () => {
    expect(run(["show", "12", TASKS])).toEqual({
      code: 0,
      stdout: [
        "Task #12: Ship standalone binaries",
        "File:     binaries.md",
        "Status:   BLOCKED",
        "Priority: LOW",
        "",
        "Cross-compiled with `bun build --compile`.",
        "",
        "## Description",
        "",
        "Build one binary per target and check that each one runs.",
        "",
        "## Targets",
        "",
        "linux-x64, linux-arm64, darwin-x64, darwin-arm64, windows-x64",
        "",
      ].join("\n"),
      stderr: "",
    });
  });

  test("accepts '#N' and keeps ### headings and code blocks in the section body", () => {
    const result = run(["show", "#1", TASKS]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("## Description\n\nRead a task file");
    expect(result.stdout).toContain("### Notes\n");
    expect(result.stdout).toContain("```markdown\n# Task #99: Not a real task\n## Status\n```\n");
  });

  test("shows the nested task of the real example file", () => {
    const result = run(["show", "234", FIXTURES]);
    expect(result.code).toBe(0);
    expect(result.stdout).toStartWith(
      "Task #234: Implement Dagger CI Pipeline with Hybrid Development Workflow\n" +
        "File:     task-234-dagger-hybrid-ci.md\nStatus:   TODO\nPriority: HIGH\n\n## Description\n",
    );
    expect(result.stdout).toEndWith("## Requirements\n\n[To be filled in]\n\n## Success Criteria\n\n[To be filled in]\n");
  });

  test("an empty section prints its heading only; missing values show as '-'", () => {
    expect(run(["show", "4", "test/fixtures/edge"]).stdout).toBe(
      "Task #4: -\nFile:     untitled.md\nStatus:   -\nPriority: -\n",
    );
  });

  test("--json prints the task with all its sections", () => {
    const result = run(["show", "3", TASKS, "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      id: 3,
      title: "Lint task files",
      status: "TODO",
      priority: "CRITICAL",
      file: "lint-command.md",
      line: 1,
      intro: "",
      sections: [
        { heading: "Status", line: 3, body: "TODO" },
        { heading: "Priority", line: 7, body: "CRITICAL" },
        {
          heading: "Description",
          line: 11,
          body: "Report missing ids, unknown values and placeholder text as `file:line: message`.",
        },
      ],
    });
  });

  test("a duplicate id shows the first file by name and warns about the others", () => {
    const result = run(["show", "7", "test/fixtures/broken"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toStartWith("Task #7: First definition of seven\nFile:     a-duplicate.md\n");
    expect(result.stderr).toBe("taskmd: warning: task #7 is also defined in test/fixtures/broken/b-duplicate.md\n");
  });

  test("an unknown id fails with exit code 1", () => {
    expect(run(["show", "99", TASKS])).toEqual({
      code: 1,
      stdout: "",
      stderr: "taskmd: no task #99 in 'test/fixtures/tasks'\n",
    });
  });

  test("an id that is not a number is a usage error", () => {
    expect(run(["show", "abc", TASKS])).toEqual({
      code: 2,
      stdout: "",
      stderr: "taskmd: invalid task id 'abc' (expected a number such as 12) (see 'taskmd show --help')\n",
    });
  });

  test("a missing id is a usage error", () => {
    expect(run(["show"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "taskmd: 'show' needs an argument ID (see 'taskmd show --help')\n",
    });
  });
});
