/** The summary table, the list of findings, and the verdict. */
import type { Acceptance } from "./policy.ts";
import type { CheckFindings } from "./sarif.ts";
import { meets, SEVERITIES, type Severity, type Threshold } from "./severity.ts";

export type Status = "passed" | "findings" | "not run" | "error";

export interface Row {
  readonly check: string;
  readonly tool: string;
  /** Open findings by severity; `null` when the check did not run. */
  readonly counts: Readonly<Record<Severity, number>> | null;
  readonly accepted: number;
  readonly status: Status;
  /** The reason a check did not run or failed, or what it covered. */
  readonly detail: string;
}

export interface Verdict {
  readonly outcome: "passed" | "incomplete" | "failed";
  readonly exitCode: 0 | 1;
  readonly text: string;
}

export function rows(checks: readonly CheckFindings[]): Row[] {
  return checks.map(({ check, open, accepted }) => {
    const tool = check.tool === null ? "built-in" : `${check.tool.name} ${check.tool.version}`;
    const outcome = check.outcome;
    switch (outcome.kind) {
      case "ran": {
        const counts = Object.fromEntries(
          SEVERITIES.map((severity) => [severity, open.filter((finding) => finding.severity === severity).length]),
        ) as Record<Severity, number>;
        return {
          check: check.id,
          tool,
          counts,
          accepted: accepted.length,
          status: open.length > 0 ? "findings" : "passed",
          detail: outcome.note ?? "",
        };
      }
      case "not-run":
        return { check: check.id, tool, counts: null, accepted: 0, status: "not run", detail: outcome.reason };
      case "error":
        return {
          check: check.id,
          tool,
          counts: null,
          accepted: 0,
          status: "error",
          detail: outcome.message.split("\n")[0] ?? "",
        };
    }
  });
}

export function verdict(
  checks: readonly CheckFindings[],
  threshold: Threshold,
  expired: readonly Acceptance[],
  requireAll: boolean,
): Verdict {
  const failing = checks.flatMap(({ open }) => open.filter((finding) => meets(finding.severity, threshold)));
  const errors = checks.filter(({ check }) => check.outcome.kind === "error").map(({ check }) => check.id);
  const notRun = checks.flatMap(({ check }) =>
    check.outcome.kind === "not-run" ? [`${check.id} (${check.outcome.reason})`] : [],
  );
  const problems: string[] = [];
  if (failing.length > 0)
    problems.push(`${failing.length} finding${failing.length === 1 ? "" : "s"} at or above ${threshold}`);
  if (errors.length > 0) problems.push(`failed to run: ${errors.join(", ")}`);
  if (expired.length > 0)
    problems.push(`${expired.length} expired allowlist entr${expired.length === 1 ? "y" : "ies"}`);
  if (requireAll && notRun.length > 0) problems.push("--require-all, and some checks did not run");
  const incomplete = notRun.length > 0 ? `; not run: ${notRun.join(", ")}` : "";
  if (problems.length > 0) {
    return { outcome: "failed", exitCode: 1, text: `FAILED: ${problems.join("; ")}${incomplete}` };
  }
  const clean =
    threshold === "none" ? "findings do not fail this scan (--fail-on none)" : `no findings at or above ${threshold}`;
  if (notRun.length > 0) {
    return { outcome: "incomplete", exitCode: 0, text: `INCOMPLETE: ${clean} in the checks that ran${incomplete}` };
  }
  return { outcome: "passed", exitCode: 0, text: `PASSED: ${clean}` };
}

function statusText(row: Row): string {
  return row.detail === "" ? row.status : `${row.status}: ${row.detail}`;
}

function cells(row: Row): string[] {
  const count = (severity: Severity): string => (row.counts === null ? "-" : String(row.counts[severity]));
  return [
    row.check,
    row.tool,
    ...SEVERITIES.map(count),
    row.counts === null ? "-" : String(row.accepted),
    statusText(row),
  ];
}

const HEADER = ["check", "tool", ...SEVERITIES, "accepted", "status"];

/** A plain-text table for the terminal. */
export function textTable(table: readonly Row[]): string {
  const lines = [HEADER, ...table.map(cells)];
  const widths = HEADER.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? "").length)));
  const numeric = (column: number): boolean => column >= 2 && column < HEADER.length - 1;
  return lines
    .map((line) =>
      line
        .map((cell, column) =>
          column === HEADER.length - 1
            ? cell
            : numeric(column)
              ? cell.padStart(widths[column] ?? 0)
              : cell.padEnd(widths[column] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** A Markdown table, for `summary.md` and the GitHub job summary. */
export function markdownTable(table: readonly Row[]): string {
  const escape = (cell: string): string => cell.replaceAll("|", "\\|");
  return [
    `| ${HEADER.join(" | ")} |`,
    `|${HEADER.map((_, column) => (column >= 2 && column < HEADER.length - 1 ? "---:" : "---")).join("|")}|`,
    ...table.map((row) => `| ${cells(row).map(escape).join(" | ")} |`),
  ].join("\n");
}
