import { findSection, normalizePriority, normalizeStatus, type ParsedTask } from "./parse.ts";
import type { IdentifiedTask } from "./tasks.ts";

/** Placeholder shown for a missing value. */
const NONE = "-";

/** Shows a status in canonical form when it is a known one, as written otherwise. */
export function displayStatus(task: ParsedTask): string | null {
  return task.status === null ? null : (normalizeStatus(task.status) ?? task.status);
}

/** Shows a priority in canonical form when it is a known one, as written otherwise. */
export function displayPriority(task: ParsedTask): string | null {
  return task.priority === null ? null : (normalizePriority(task.priority) ?? task.priority);
}

/**
 * Renders rows as a left-aligned table, columns separated by two spaces and
 * without trailing whitespace. Every line ends with "\n".
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) =>
    Math.max(...all.map((row) => (row[column] ?? "").length)),
  );
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}

/** Pretty JSON followed by a newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The summary of a task used by `list --json`. */
export interface TaskSummary {
  readonly id: number;
  readonly title: string;
  readonly status: string | null;
  readonly priority: string | null;
  readonly file: string;
}

export function summarize(file: IdentifiedTask): TaskSummary {
  return {
    id: file.task.id,
    title: file.task.title,
    status: displayStatus(file.task),
    priority: displayPriority(file.task),
    file: file.name,
  };
}

/** The `list` table: ID, TITLE, STATUS, PRIORITY. */
export function formatTaskTable(files: readonly IdentifiedTask[]): string {
  const rows = files.map((file) => [
    `#${file.task.id}`,
    file.task.title === "" ? NONE : file.task.title,
    displayStatus(file.task) ?? NONE,
    displayPriority(file.task) ?? NONE,
  ]);
  return formatTable(["ID", "TITLE", "STATUS", "PRIORITY"], rows);
}

/** The sections that `show` prints: all but the Status and Priority ones shown in the header. */
function detailSections(task: ParsedTask): ParsedTask["sections"] {
  const status = findSection(task.sections, "Status");
  const priority = findSection(task.sections, "Priority");
  return task.sections.filter((section) => section !== status && section !== priority);
}

/** The `show --json` document. */
export function taskDetail(file: IdentifiedTask): TaskSummary & {
  readonly line: number;
  readonly intro: string;
  readonly sections: readonly { heading: string; line: number; body: string }[];
} {
  return {
    ...summarize(file),
    line: file.task.line,
    intro: file.task.intro,
    sections: file.task.sections.map(({ heading, line, body }) => ({ heading, line, body })),
  };
}

/** The `show` text: a header, then each section with its heading and body. */
export function formatTaskDetail(file: IdentifiedTask): string {
  const { task } = file;
  const out: string[] = [
    `Task #${task.id}: ${task.title === "" ? NONE : task.title}`,
    `File:     ${file.name}`,
    `Status:   ${displayStatus(task) ?? NONE}`,
    `Priority: ${displayPriority(task) ?? NONE}`,
  ];
  if (task.intro !== "") {
    out.push("", task.intro);
  }
  for (const section of detailSections(task)) {
    out.push("", `## ${section.heading}`);
    if (section.body !== "") {
      out.push("", section.body);
    }
  }
  return `${out.join("\n")}\n`;
}

/** One lint finding. */
export interface Finding {
  readonly path: string;
  readonly line: number;
  readonly message: string;
}

/** `file:line: message`, one finding per line. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((finding) => `${finding.path}:${finding.line}: ${finding.message}\n`).join("");
}
