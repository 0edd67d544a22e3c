/**
 * Parser for taskmd task files.
 *
 * Format (one task per `*.md` file):
 *
 * ```markdown
 * # Task #12: Short title
 *
 * Optional intro text.
 *
 * ## Status
 *
 * IN PROGRESS
 *
 * ## Priority
 *
 * HIGH
 *
 * ## Description
 *
 * Free text; `###` and deeper headings belong to the section above them.
 * ```
 *
 * Rules, chosen to be tolerant: a file never fails to parse, problems become
 * diagnostics that `taskmd lint` reports.
 *
 * - The task is defined by the first level-1 heading of the form
 *   `# Task #N: Title` (the colon may be omitted). Its sections are the `##`
 *   headings after it, up to the next level-1 heading or the end of the file.
 * - Everything before the task heading is a preamble and is ignored. Real files
 *   wrap a task in a generated outer document (`# Implement ...` with its own
 *   `## Status` and `## Priority`, then `## Description` holding the real
 *   `# Task #N: ...`); the outer Status and Priority are not the task's.
 * - A later level-1 heading ends the task: one task per file.
 * - Without a `# Task #N:` heading the first `#` heading (if any) gives the
 *   title, the id is missing, and such a file is not listed as a task.
 * - Only ATX headings (`#` to `######`) count; headings inside fenced code
 *   blocks (``` or ~~~) are text, not headings.
 * - Status is the first non-blank line of `## Status`, Priority that of
 *   `## Priority`; both are matched case-insensitively, with `_` or `-`
 *   read as a space and `**`, `*`, `_` or backticks around the value removed.
 *   Known statuses: BACKLOG, TODO, IN PROGRESS, BLOCKED, DONE.
 *   Known priorities: LOW, MEDIUM, HIGH, CRITICAL.
 * - Required sections: Status, Priority, Description (non-empty).
 * - Line endings may be LF or CRLF; a UTF-8 byte order mark is ignored.
 */

export const STATUSES = ["BACKLOG", "TODO", "IN PROGRESS", "BLOCKED", "DONE"] as const;
export type Status = (typeof STATUSES)[number];

export const PRIORITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type Priority = (typeof PRIORITIES)[number];

export const REQUIRED_SECTIONS = ["Status", "Priority", "Description"] as const;

/** A `##` section of a task. */
export interface Section {
  /** Heading text without the leading `##`. */
  readonly heading: string;
  /** 1-based line of the heading. */
  readonly line: number;
  /** Body text, without leading and trailing blank lines; "" when empty. */
  readonly body: string;
  /** 1-based line of the first body line (the line after the heading when empty). */
  readonly bodyLine: number;
}

/** A structural problem found while parsing. */
export interface Diagnostic {
  readonly line: number;
  readonly message: string;
}

/** The result of parsing one task file. */
export interface ParsedTask {
  /** Task number from `# Task #N:`, or null when the file has no such heading. */
  readonly id: number | null;
  /** Title text, "" when there is none. */
  readonly title: string;
  /** Line of the task heading (1 when the file has no heading). */
  readonly line: number;
  /** Text between the task heading and its first section. */
  readonly intro: string;
  /** Raw status value (first line of `## Status`), null when missing or empty. */
  readonly status: string | null;
  /** Raw priority value (first line of `## Priority`), null when missing or empty. */
  readonly priority: string | null;
  readonly sections: readonly Section[];
  readonly diagnostics: readonly Diagnostic[];
}

interface Heading {
  readonly level: number;
  readonly text: string;
  /** 0-based index into the lines. */
  readonly index: number;
}

const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/;
const CLOSING_HASHES = /(?:^|[ \t]+)#+$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const TASK_HEADING = /^task[ \t]+#(\d+)[ \t]*:?[ \t]*(.*)$/i;

/** Splits text into lines, accepting LF and CRLF and dropping a byte order mark. */
export function splitLines(text: string): string[] {
  const withoutBom = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const lines = withoutBom.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === "") {
    lines.pop();
  }
  return lines;
}

/** Finds the ATX headings outside fenced code blocks. */
function scanHeadings(lines: readonly string[], diagnostics: Diagnostic[]): Heading[] {
  const headings: Heading[] = [];
  let fence: { marker: string; index: number } | null = null;
  for (const [index, line] of lines.entries()) {
    const fenceMatch = FENCE.exec(line);
    const marker = fenceMatch?.[1];
    const info = fenceMatch?.[2] ?? "";
    if (fence !== null) {
      if (
        marker !== undefined &&
        marker.startsWith(fence.marker.charAt(0)) &&
        marker.length >= fence.marker.length &&
        info.trim() === ""
      ) {
        fence = null;
      }
      continue;
    }
    // A backtick fence's info string may not contain backticks.
    if (marker !== undefined && !(marker.startsWith("`") && info.includes("`"))) {
      fence = { marker, index };
      continue;
    }
    const match = HEADING.exec(line);
    if (match?.[1] !== undefined) {
      const text = (match[2] ?? "").replace(CLOSING_HASHES, "").trim();
      headings.push({ level: match[1].length, text, index });
    }
  }
  if (fence !== null) {
    diagnostics.push({
      line: fence.index + 1,
      message: "code fence is never closed",
    });
  }
  return headings;
}

/** Removes blank lines at both ends; returns the body and the index of its first line. */
function trimBlock(
  lines: readonly string[],
  start: number,
  end: number,
): { body: string; first: number } {
  let first = start;
  let last = end;
  while (first < last && (lines[first] ?? "").trim() === "") first++;
  while (last > first && (lines[last - 1] ?? "").trim() === "") last--;
  return { body: lines.slice(first, last).join("\n"), first: first === last ? start : first };
}

/** The value of a Status or Priority section: its first non-blank line, unwrapped. */
function sectionValue(section: Section | undefined): string | null {
  if (section === undefined) return null;
  const firstLine = section.body.split("\n")[0]?.trim() ?? "";
  const value = firstLine.replace(/^(\*\*|__|\*|_|`)(.*)\1$/, "$2").trim();
  return value === "" ? null : value;
}

/** Canonical form used to compare status and priority values. */
function canonical(value: string): string {
  return value.trim().replace(/[_-]/g, " ").replace(/\s+/g, " ").toUpperCase();
}

/** Maps a raw status to a known status, or null when it is not one. */
export function normalizeStatus(value: string): Status | null {
  const key = canonical(value);
  return STATUSES.find((status) => status === key) ?? null;
}

/** Maps a raw priority to a known priority, or null when it is not one. */
export function normalizePriority(value: string): Priority | null {
  const key = canonical(value);
  return PRIORITIES.find((priority) => priority === key) ?? null;
}

/** Finds the first section with the given heading, ignoring case. */
export function findSection(sections: readonly Section[], name: string): Section | undefined {
  const key = name.toLowerCase();
  return sections.find((section) => section.heading.toLowerCase() === key);
}

function quoteHeading(heading: Heading): string {
  return `'${"#".repeat(heading.level)} ${heading.text}'`;
}

/** Parses the text of one task file. Never throws. */
export function parseTask(text: string): ParsedTask {
  const lines = splitLines(text);
  const diagnostics: Diagnostic[] = [];
  const headings = scanHeadings(lines, diagnostics);

  let id: number | null = null;
  let title: string;
  let anchor: Heading | undefined = headings.find(
    (heading) => heading.level === 1 && TASK_HEADING.test(heading.text),
  );
  if (anchor !== undefined) {
    const match = TASK_HEADING.exec(anchor.text);
    id = Number(match?.[1]);
    title = (match?.[2] ?? "").trim();
    if (title === "") {
      diagnostics.push({ line: anchor.index + 1, message: "task heading has no title" });
    }
  } else {
    anchor = headings.find((heading) => heading.level === 1);
    title = anchor?.text ?? "";
    diagnostics.push({
      line: anchor === undefined ? 1 : anchor.index + 1,
      message: "missing task heading '# Task #N: Title'",
    });
  }

  const start = anchor === undefined ? 0 : anchor.index + 1;
  const anchorLine = anchor === undefined ? 1 : anchor.index + 1;

  // The preamble: everything above the task heading is ignored.
  if (anchor !== undefined) {
    const preambleText = lines.findIndex((line, index) => index < anchor.index && line.trim() !== "");
    if (preambleText !== -1) {
      diagnostics.push({
        line: preambleText + 1,
        message: `text before the task heading on line ${anchorLine} is ignored`,
      });
    }
    for (const heading of headings) {
      if (heading.index >= anchor.index) break;
      const name = heading.text.toLowerCase();
      if (heading.level === 2 && (name === "status" || name === "priority")) {
        diagnostics.push({
          line: heading.index + 1,
          message: `${quoteHeading(heading)} before the task heading is not the task's ${name}`,
        });
      }
    }
  }

  // A later level-1 heading ends the task.
  const next = headings.find((heading) => heading.level === 1 && heading.index >= start);
  const end = next === undefined ? lines.length : next.index;
  if (next !== undefined) {
    diagnostics.push({
      line: next.index + 1,
      message: TASK_HEADING.test(next.text)
        ? `second task heading ${quoteHeading(next)} is ignored: one task per file`
        : `heading ${quoteHeading(next)} ends the task: the rest of the file is ignored`,
    });
  }

  const sectionHeadings = headings.filter(
    (heading) => heading.level === 2 && heading.index >= start && heading.index < end,
  );
  const firstSection = sectionHeadings[0]?.index ?? end;
  const intro = trimBlock(lines, start, firstSection).body;

  const sections: Section[] = sectionHeadings.map((heading, position) => {
    const bodyEnd = sectionHeadings[position + 1]?.index ?? end;
    const { body, first } = trimBlock(lines, heading.index + 1, bodyEnd);
    return { heading: heading.text, line: heading.index + 1, body, bodyLine: first + 1 };
  });

  return {
    id,
    title,
    line: anchorLine,
    intro,
    status: sectionValue(findSection(sections, "Status")),
    priority: sectionValue(findSection(sections, "Priority")),
    sections,
    diagnostics: diagnostics.sort((a, b) => a.line - b.line),
  };
}
