import { describe, expect, test } from "bun:test";

import {
  findSection,
  normalizePriority,
  normalizeStatus,
  parseTask,
  splitLines,
  type Status,
} from "../src/parse.ts";
import { fixture } from "./helpers.ts";

const SIMPLE = `# Task #5: Write the parser

Some intro.

## Status

IN PROGRESS

## Priority

High

## Description

First line.

### Detail

Second line.
`;

describe("parseTask", () => {
  test("reads id, title, status, priority, intro and sections", () => {
    const task = parseTask(SIMPLE);
    expect(task.id).toBe(5);
    expect(task.title).toBe("Write the parser");
    expect(task.line).toBe(1);
    expect(task.intro).toBe("Some intro.");
    expect(task.status).toBe("IN PROGRESS");
    expect(task.priority).toBe("High");
    expect(task.sections.map((section) => section.heading)).toEqual([
      "Status",
      "Priority",
      "Description",
    ]);
    expect(task.diagnostics).toEqual([]);
  });

  test("keeps ### headings in the body of their section", () => {
    const description = findSection(parseTask(SIMPLE).sections, "description");
    expect(description).toEqual({
      heading: "Description",
      line: 13,
      body: "First line.\n\n### Detail\n\nSecond line.",
      bodyLine: 15,
    });
  });

  test("accepts CRLF line endings and a byte order mark", () => {
    const task = parseTask(`\uFEFF${SIMPLE.replaceAll("\n", "\r\n")}`);
    expect(task.id).toBe(5);
    expect(task.status).toBe("IN PROGRESS");
    expect(findSection(task.sections, "Description")?.body).toBe(
      "First line.\n\n### Detail\n\nSecond line.",
    );
  });

  test("ignores headings inside fenced code blocks", () => {
    const task = parseTask(
      [
        "# Task #1: Fences",
        "## Description",
        "```sh",
        "# a shell comment, not a heading",
        "## neither is this",
        "```",
        "~~~~",
        "# Task #2: still code",
        "~~~",
        "~~~~",
        "## After",
      ].join("\n"),
    );
    expect(task.id).toBe(1);
    expect(task.sections.map((section) => section.heading)).toEqual(["Description", "After"]);
    expect(task.diagnostics).toEqual([]);
  });

  test("a backtick line with backticks after it does not open a fence", () => {
    const task = parseTask("# Task #1: Inline\n## A\n```not a fence```\n## B\n");
    expect(task.sections.map((section) => section.heading)).toEqual(["A", "B"]);
  });

  test("reports a code fence that is never closed", () => {
    const task = parseTask("# Task #1: Open\n## Description\n```\n## Hidden\n");
    expect(task.sections.map((section) => section.heading)).toEqual(["Description"]);
    expect(task.diagnostics).toEqual([{ line: 3, message: "code fence is never closed" }]);
  });

  test("unwraps emphasis and code around status and priority values", () => {
    const task = parseTask("# Task #1: T\n## Status\n**done**\n## Priority\n`low`\n");
    expect(task.status).toBe("done");
    expect(task.priority).toBe("low");
  });

  test("empty Status and Priority sections give null values", () => {
    const task = parseTask("# Task #1: T\n## Status\n\n## Priority\n");
    expect(task.status).toBeNull();
    expect(task.priority).toBeNull();
    expect(findSection(task.sections, "Priority")).toEqual({
      heading: "Priority",
      line: 4,
      body: "",
      bodyLine: 5,
    });
  });

  test("accepts a task heading without a colon and strips closing hashes", () => {
    const task = parseTask("# Task #42 Answer ##\n");
    expect(task.id).toBe(42);
    expect(task.title).toBe("Answer");
  });

  test("reports a task heading without a title", () => {
    const task = parseTask("# Task #3:\n");
    expect(task.id).toBe(3);
    expect(task.title).toBe("");
    expect(task.diagnostics).toEqual([{ line: 1, message: "task heading has no title" }]);
  });

  test("without a task heading the first # heading gives the title and the id is missing", () => {
    const task = parseTask("\n# Notes\n## Status\nTODO\n");
    expect(task.id).toBeNull();
    expect(task.title).toBe("Notes");
    expect(task.status).toBe("TODO");
    expect(task.diagnostics).toEqual([
      { line: 2, message: "missing task heading '# Task #N: Title'" },
    ]);
  });

  test("a file without any heading still parses its sections", () => {
    const task = parseTask("## Status\nDONE\n");
    expect(task.id).toBeNull();
    expect(task.title).toBe("");
    expect(task.line).toBe(1);
    expect(task.status).toBe("DONE");
  });

  test("an empty file parses to an empty task", () => {
    const task = parseTask("");
    expect(task.id).toBeNull();
    expect(task.sections).toEqual([]);
    expect(task.intro).toBe("");
  });

  test("'#Task' without a space is not a heading", () => {
    expect(parseTask("#Task #1: nope\n").id).toBeNull();
  });

  test("a later level-1 heading ends the task", () => {
    const task = parseTask("# Task #1: One\n## A\n# Task #2: Two\n## B\n# Appendix\n## C\n");
    expect(task.id).toBe(1);
    expect(task.sections.map((section) => section.heading)).toEqual(["A"]);
    expect(task.diagnostics).toEqual([
      { line: 3, message: "second task heading '# Task #2: Two' is ignored: one task per file" },
    ]);

    const appendix = parseTask("# Task #1: One\n## A\n# Appendix\n## C\n");
    expect(appendix.diagnostics).toEqual([
      { line: 3, message: "heading '# Appendix' ends the task: the rest of the file is ignored" },
    ]);
  });
});

describe("the real example file", () => {
  const task = parseTask(fixture("task-234-dagger-hybrid-ci.md"));

  test("the nested '# Task #234' heading defines the task, not the outer document", () => {
    expect(task.id).toBe(234);
    expect(task.title).toBe("Implement Dagger CI Pipeline with Hybrid Development Workflow");
    expect(task.line).toBe(13);
    expect(task.status).toBe("TODO");
    expect(task.priority).toBe("HIGH");
  });

  test("its sections are the ## headings after the task heading, fenced '#' lines excluded", () => {
    expect(task.sections.map((section) => section.heading)).toEqual([
      "Status",
      "Priority",
      "Description",
      "Objectives",
      "Implementation Plan",
      "Technical Requirements",
      "Success Criteria",
      "Implementation Notes",
      "Dependencies",
      "Acceptance Criteria",
      "Risk Mitigation",
      "Future Enhancements",
      "Requirements",
      "Success Criteria",
    ]);
    expect(findSection(task.sections, "Requirements")).toEqual({
      heading: "Requirements",
      line: 273,
      body: "[To be filled in]",
      bodyLine: 275,
    });
  });

  test("the outer document's Status and Priority are reported, not used", () => {
    expect(task.diagnostics).toEqual([
      { line: 1, message: "text before the task heading on line 13 is ignored" },
      { line: 3, message: "'## Status' before the task heading is not the task's status" },
      { line: 7, message: "'## Priority' before the task heading is not the task's priority" },
    ]);
  });
});

describe("normalizeStatus and normalizePriority", () => {
  test.each<[string, Status]>([
    ["todo", "TODO"],
    ["In Progress", "IN PROGRESS"],
    ["in_progress", "IN PROGRESS"],
    ["IN-PROGRESS", "IN PROGRESS"],
    ["  done ", "DONE"],
    ["Backlog", "BACKLOG"],
    ["blocked", "BLOCKED"],
  ])("status %p is %p", (raw, expected) => {
    expect(normalizeStatus(raw)).toBe(expected);
  });

  test("unknown statuses are null", () => {
    expect(normalizeStatus("WIP")).toBeNull();
    expect(normalizeStatus("")).toBeNull();
  });

  test("priorities are matched case-insensitively", () => {
    expect(normalizePriority("critical")).toBe("CRITICAL");
    expect(normalizePriority("Medium")).toBe("MEDIUM");
    expect(normalizePriority("urgent")).toBeNull();
  });
});

describe("splitLines", () => {
  test("drops one final newline only", () => {
    expect(splitLines("a\nb\n")).toEqual(["a", "b"]);
    expect(splitLines("a\n\n")).toEqual(["a", ""]);
    expect(splitLines("")).toEqual([""]);
  });
});
