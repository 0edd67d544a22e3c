import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { ROOT, run, TASKS } from "./helpers.ts";

describe("taskmd list", () => {
  test("prints exactly test/fixtures/tasks.list.expected", () => {
    const expected = readFileSync(join(ROOT, "test/fixtures/tasks.list.expected"), "utf8");
    expect(run(["list", TASKS])).toEqual({ code: 0, stdout: expected, stderr: "" });
  });

  test("sorts by id numerically, not by file name", () => {
    const ids = run(["list", TASKS])
      .stdout.split("\n")
      .slice(1, -1)
      .map((line) => line.split(" ")[0]);
    expect(ids).toEqual(["#1", "#2", "#3", "#12"]);
  });

  test("DIR defaults to the current directory", () => {
    expect(run(["list"], join(ROOT, TASKS))).toEqual(run(["list", TASKS]));
  });

  test("--json prints an array of summaries", () => {
    const result = run(["list", TASKS, "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { id: 1, title: "Parse markdown task files", status: "DONE", priority: "HIGH", file: "parser.md" },
      {
        id: 2,
        title: "List tasks as a table",
        status: "IN PROGRESS",
        priority: "MEDIUM",
        file: "list-command.md",
      },
      { id: 3, title: "Lint task files", status: "TODO", priority: "CRITICAL", file: "lint-command.md" },
      { id: 12, title: "Ship standalone binaries", status: "BLOCKED", priority: "LOW", file: "binaries.md" },
    ]);
    expect(result.stdout.endsWith("}\n]\n")).toBe(true);
  });

  test("--status filters case-insensitively, in either flag form", () => {
    const expected = run(["list", TASKS, "--status", "in progress", "--json"]);
    expect(JSON.parse(expected.stdout)).toMatchObject([{ id: 2 }]);
    expect(run(["list", "--status=In_Progress", "--json", TASKS])).toEqual(expected);
  });

  test("--priority filters, and combines with --status", () => {
    expect(JSON.parse(run(["list", TASKS, "--priority", "low", "--json"]).stdout)).toMatchObject([
      { id: 12 },
    ]);
    expect(run(["list", TASKS, "--priority", "low", "--status", "done", "--json"]).stdout).toBe("[]\n");
  });

  test("an empty result still prints the table header", () => {
    expect(run(["list", TASKS, "--status", "backlog"]).stdout).toBe("ID  TITLE  STATUS  PRIORITY\n");
  });

  test("tasks with duplicate ids are sorted by file name; files without a task heading are left out", () => {
    const result = run(["list", "test/fixtures/broken", "--json"]);
    expect(JSON.parse(result.stdout)).toEqual([
      { id: 7, title: "First definition of seven", status: "WIP", priority: "URGENT", file: "a-duplicate.md" },
      { id: 7, title: "Second definition of seven", status: "DONE", priority: "LOW", file: "b-duplicate.md" },
    ]);
  });

  test("missing values show as '-'", () => {
    const result = run(["list", "test/fixtures/edge"]);
    expect(result.stdout).toBe("ID  TITLE  STATUS  PRIORITY\n#4  -      -       -\n");
  });

  test("an unknown status filter is a usage error", () => {
    expect(run(["list", TASKS, "--status", "WIP"])).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "taskmd: unknown status 'WIP' for --status (expected one of: BACKLOG, TODO, IN PROGRESS, BLOCKED, DONE) (see 'taskmd list --help')\n",
    });
  });

  test("an unknown priority filter is a usage error", () => {
    const result = run(["list", TASKS, "--priority=urgent"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("taskmd: unknown priority 'urgent' for --priority");
  });
});
