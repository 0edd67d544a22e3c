/**
 * What every check reports, whatever tool found it: the one shape the allowlist, the SARIF
 * file and the summary table work on.
 */
import type { Severity } from "./severity.ts";

/** The checks, in the order of the summary table. */
export const CHECK_IDS = [
  "dependencies",
  "secrets-tree",
  "secrets-history",
  "code",
  "workflows",
  "pinning",
  "sbom",
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

/** A place in a file of the scanned project; `path` is relative, with `/` separators. */
export interface Location {
  readonly path: string;
  readonly line: number;
  readonly column?: number;
  readonly endLine?: number;
  readonly endColumn?: number;
}

export interface Rule {
  readonly id: string;
  /** One line: what the rule looks for. */
  readonly description: string;
  readonly helpUri?: string;
}

export interface Finding {
  readonly check: CheckId;
  readonly rule: Rule;
  readonly severity: Severity;
  /** What was found and, where it helps, what to do about it. */
  readonly message: string;
  readonly location: Location;
  /**
   * What identifies this finding across runs besides its rule and path (an advisory and
   * package, a commit): the allowlist and SARIF fingerprints use it. Never a secret's value.
   */
  readonly key: string;
}

/** A finding the allowlist accepts, with the reason it gives. */
export interface Accepted {
  readonly finding: Finding;
  readonly reason: string;
  readonly expires: string;
}

export interface Tool {
  readonly name: string;
  readonly version: string;
  readonly informationUri: string;
}

/** How one check ended, before the allowlist is applied. */
export type CheckOutcome =
  | { readonly kind: "ran"; readonly findings: readonly Finding[]; readonly note?: string }
  | { readonly kind: "not-run"; readonly reason: string }
  | { readonly kind: "error"; readonly message: string };

export interface CheckResult {
  readonly id: CheckId;
  /** The tool that ran, or `null` for the checks written here (the pinning rule). */
  readonly tool: Tool | null;
  readonly outcome: CheckOutcome;
}

/** Sorts findings by path, line, column, check and rule, so every output is stable. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compareText(a.location.path, b.location.path) ||
    a.location.line - b.location.line ||
    (a.location.column ?? 0) - (b.location.column ?? 0) ||
    compareText(a.check, b.check) ||
    compareText(a.rule.id, b.rule.id) ||
    compareText(a.key, b.key)
  );
}

/** Code-point order: the same on every machine, whatever its locale. */
export function compareText(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/** `1 file`, `2 files`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
